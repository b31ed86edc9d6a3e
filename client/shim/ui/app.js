// Placeholder: the console's real app.js replaces this file.
document.getElementById("app").dataset.loaded = "1";
