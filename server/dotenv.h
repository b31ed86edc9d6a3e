/* dotenv.h -- variables from a .env file, and reading a small file whole. */
#ifndef KE_DOTENV_H
#define KE_DOTENV_H

#include <stddef.h>

#include "errors.h"

/* One variable asked of a .env file. */
typedef struct ke_dotenv_var {
    const char *name; /* the variable to look for */
    char *value;      /* its value (heap; the caller frees), NULL when not set */
    unsigned line;    /* the line of the assignment that set it */
} ke_dotenv_var;

/* Reads the whole of path, at most max bytes, into a NUL-terminated heap
 * buffer *buf (the caller frees) of *len bytes. Returns 0, or an errno value:
 * EFBIG when the file is larger than max, ENOMEM, or what fopen/fread said. */
int ke_read_file(const char *path, size_t max, char **buf, size_t *len);

/* Reads the .env text (NUL-terminated; path names it in messages) and sets
 * value and line of each of the n_vars vars it assigns (the last assignment
 * wins; a bare NAME unsets). KEY=VALUE lines, optional `export `, `#`
 * comments, values unquoted (trimmed; ` #` starts a comment), single-quoted
 * (\\ and \' decoded) or double-quoted (\\ \' \" \a \b \f \n \r \t \v
 * decoded), quoted ones over several lines; line ends read as "\n". ${VAR}
 * is not expanded. Values are freed by the caller, also on failure. A line
 * that cannot be parsed is KE_ECONFIG naming path:line. */
int ke_dotenv_parse(const char *path, const char *text, ke_dotenv_var *vars, size_t n_vars,
                    ke_error *err);

/* ke_dotenv_parse of the file at path; a missing file sets nothing. */
int ke_dotenv_read(const char *path, ke_dotenv_var *vars, size_t n_vars, ke_error *err);

#endif
