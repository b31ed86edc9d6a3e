"""gql_parse -- the GraphQL lexer and parser of the kedro-graphql stand-in (see gql.py): text
to tuples, with graphql-core's "Syntax Error: ..." messages and locations."""

import json
import re

MISSING = object()  # an argument or input field that was not given and has no default


class GraphQLError(Exception):
    """One error of a GraphQL answer: message, optional locations and path."""

    def __init__(self, message, locations=None, path=None):
        super().__init__(message)
        self.message = message
        self.locations = locations
        self.path = path

    def to_dict(self):
        d = {"message": self.message}
        if self.locations:
            d["locations"] = [{"line": ln, "column": col} for ln, col in self.locations]
        if self.path is not None:
            d["path"] = self.path
        return d


# ---------------------------------------------------------------------------------- lexer

_TOKEN = re.compile(r'''
  (?P<ws>(?:[\s,\ufeff]|\#[^\n\r]*)+)
| (?P<spread>\.\.\.)
| (?P<punct>[!$&()\:=@\[\]{|}])
| (?P<name>[_A-Za-z][_0-9A-Za-z]*)
| (?P<num>-?(?:0|[1-9][0-9]*)(?P<frac>\.[0-9]+)?(?P<exp>[eE][+-]?[0-9]+)?(?![_A-Za-z.0-9]))
| (?P<block>"""(?:\\"""|(?!""")[\s\S])*""")
| (?P<str>"(?:[^"\\\n\r]|\\(?:["\\/bfnrt]|u[0-9A-Fa-f]{4}))*")
''', re.X)


def _location(text, pos):
    line = text.count("\n", 0, pos) + 1
    return line, pos - (text.rfind("\n", 0, pos) + 1) + 1


def _block_string(raw):
    """The value of a block string (the spec's BlockStringValue: common indent removed)."""
    lines = raw[3:-3].replace('\\"""', '"""').replace("\r\n", "\n").split("\n")
    indent = None
    for ln in lines[1:]:
        stripped = len(ln) - len(ln.lstrip(" \t"))
        if stripped < len(ln) and (indent is None or stripped < indent):
            indent = stripped
    if indent:
        lines = lines[:1] + [ln[indent:] for ln in lines[1:]]
    while lines and not lines[0].strip(" \t"):
        lines.pop(0)
    while lines and not lines[-1].strip(" \t"):
        lines.pop()
    return "\n".join(lines)


def tokenize(text):
    """Returns [(kind, value, pos)], ending with ("eof", None, len); raises GraphQLError."""
    toks = []
    pos, end = 0, len(text)
    match = _TOKEN.match
    while pos < end:
        m = match(text, pos)
        if m is None:
            ch = text[pos]
            if ch == '"':
                what = "Unterminated string or invalid escape sequence."
            elif ch.isdigit() or ch == "-":
                bad = re.match(r"-?[0-9.eE+-]*[^\s,)}\]]*", text[pos:]).group()
                what = "Invalid number: %r." % bad
            else:
                what = "Unexpected character: %r." % ch
            raise GraphQLError("Syntax Error: " + what, [_location(text, pos)])
        kind = m.lastgroup
        if kind == "punct":
            toks.append((m.group(), None, pos))
        elif kind == "name":
            toks.append(("name", m.group(), pos))
        elif kind == "num":
            is_float = m.group("frac") is not None or m.group("exp") is not None
            toks.append(("float" if is_float else "int", m.group(), pos))
        elif kind == "str":
            toks.append(("str", json.loads(m.group()), pos))
        elif kind == "block":
            toks.append(("str", _block_string(m.group()), pos))
        elif kind == "spread":
            toks.append(("...", None, pos))
        pos = m.end()
    toks.append(("eof", None, end))
    return toks


# --------------------------------------------------------------------------------- parser
# Types: ("N", name) | ("L", inner) | ("!", inner).
# Values: ("var", name) | ("str"|"int"|"float"|"bool"|"enum", v) | ("null", None)
#         | ("list", [values]) | ("obj", [(name, value)]).
# Field: (alias_or_name, name, [(arg, value, pos)], selections or None, pos).
# Operation: (kind, name, [(var, type, default_value_or_None, pos)], selections, pos).


def _describe(tok):
    kind, value, _ = tok
    if kind == "eof":
        return "<EOF>"
    if kind == "name":
        return "Name '%s'" % value
    if kind in ("int", "float"):
        return "%s '%s'" % ("Int" if kind == "int" else "Float", value)
    if kind == "str":
        return "String %s" % json.dumps(value)
    return "'%s'" % kind


class _Parser:
    def __init__(self, text):
        self.text = text
        self.toks = tokenize(text)
        self.i = 0

    def fail(self, message, pos=None):
        if pos is None:
            pos = self.toks[self.i][2]
        raise GraphQLError("Syntax Error: " + message, [_location(self.text, pos)])

    def peek(self, kind):
        return self.toks[self.i][0] == kind

    def expect(self, kind):
        tok = self.toks[self.i]
        if tok[0] != kind:
            want = "Name" if kind == "name" else "'%s'" % kind
            self.fail("Expected %s, found %s." % (want, _describe(tok)))
        self.i += 1
        return tok

    def name(self):
        return self.expect("name")[1]

    def document(self):
        ops = []
        while not self.peek("eof"):
            ops.append(self.definition())
        if not ops:
            self.fail("Unexpected <EOF>.")
        return ops

    def definition(self):
        kind, value, pos = self.toks[self.i]
        if kind == "{":
            return ("query", None, [], self.selection_set(), pos)
        if kind == "name" and value in ("query", "mutation", "subscription"):
            self.i += 1
            name = self.name() if self.peek("name") else None
            vardefs = self.variable_definitions() if self.peek("(") else []
            self.no_directives()
            return (value, name, vardefs, self.selection_set(), pos)
        if kind == "name" and value == "fragment":
            raise GraphQLError("The kedro-graphql stand-in does not support fragments.",
                               [_location(self.text, pos)])
        self.fail("Unexpected %s." % _describe(self.toks[self.i]))

    def no_directives(self):
        if self.peek("@"):
            raise GraphQLError("The kedro-graphql stand-in does not support directives.",
                               [_location(self.text, self.toks[self.i][2])])

    def variable_definitions(self):
        self.expect("(")
        defs = []
        while not self.peek(")"):
            pos = self.expect("$")[2]
            name = self.name()
            self.expect(":")
            vtype = self.type_ref()
            default = None
            if self.peek("="):
                self.i += 1
                default = self.value(const=True)
            self.no_directives()
            defs.append((name, vtype, default, pos))
        if not defs:
            self.fail("Expected '$', found ')'.")
        self.i += 1
        return defs

    def type_ref(self):
        if self.peek("["):
            self.i += 1
            t = ("L", self.type_ref())
            self.expect("]")
        else:
            t = ("N", self.name())
        if self.peek("!"):
            self.i += 1
            t = ("!", t)
        return t

    def selection_set(self):
        self.expect("{")
        sels = []
        while not self.peek("}"):
            if self.peek("..."):
                raise GraphQLError("The kedro-graphql stand-in does not support fragments.",
                                   [_location(self.text, self.toks[self.i][2])])
            sels.append(self.field())
        if not sels:
            self.fail("Expected Name, found '}'.")
        self.i += 1
        return sels

    def field(self):
        pos = self.toks[self.i][2]
        alias = name = self.name()
        if self.peek(":"):
            self.i += 1
            name = self.name()
        args = []
        if self.peek("("):
            self.i += 1
            while not self.peek(")"):
                apos = self.toks[self.i][2]
                aname = self.name()
                self.expect(":")
                args.append((aname, self.value(const=False), apos))
            if not args:
                self.fail("Expected Name, found ')'.")
            self.i += 1
        self.no_directives()
        sels = self.selection_set() if self.peek("{") else None
        return (alias, name, args, sels, pos)

    def value(self, const):
        kind, v, pos = self.toks[self.i]
        self.i += 1
        if kind == "$" and not const:
            return ("var", self.name())
        if kind in ("str", "int", "float"):
            return (kind, v)
        if kind == "name":
            if v in ("true", "false"):
                return ("bool", v == "true")
            return ("null", None) if v == "null" else ("enum", v)
        if kind == "[":
            items = []
            while not self.peek("]"):
                items.append(self.value(const))
            self.i += 1
            return ("list", items)
        if kind == "{":
            fields = []
            while not self.peek("}"):
                fname = self.name()
                self.expect(":")
                fields.append((fname, self.value(const)))
            self.i += 1
            return ("obj", fields)
        self.i -= 1
        self.fail("Unexpected %s." % _describe(self.toks[self.i]))


def type_str(t):
    if t[0] == "!":
        return type_str(t[1]) + "!"
    if t[0] == "L":
        return "[" + type_str(t[1]) + "]"
    return t[1]


def parse_type(text):
    return _Parser(text).type_ref()


def print_value(v):
    kind, x = v
    if kind == "var":
        return "$" + x
    if kind == "str":
        return json.dumps(x, ensure_ascii=False)
    if kind in ("int", "float", "enum"):
        return x
    if kind == "bool":
        return "true" if x else "false"
    if kind == "null":
        return "null"
    if kind == "list":
        return "[" + ", ".join(print_value(i) for i in x) + "]"
    return "{" + ", ".join("%s: %s" % (n, print_value(i)) for n, i in x) + "}"


def inspect(v, limit=200):
    """graphql-core's inspect(): Python's repr, shortened."""
    text = repr(v)
    return text if len(text) <= limit else text[:limit - 3] + "..."
