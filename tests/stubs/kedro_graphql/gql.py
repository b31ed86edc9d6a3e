"""gql -- the subset of GraphQL the kedro-graphql stand-in understands: validation of parsed
documents (gql_parse.py) against a small schema, variable coercion and answers that hold only
what was selected, with the messages graphql-core (the engine under Strawberry) gives for the
same mistakes.

Supported: one or more operations (`query`/`mutation`, named or not, or the `{...}` shorthand),
variable definitions with defaults, aliases, arguments (variables and every literal kind),
nested selection sets and `__typename`. Not supported (rejected with a message saying so):
fragments, directives, subscriptions, introspection beyond `__typename`.

A parsed and validated operation is a Compiled object; compile_document() results are meant to
be cached per query text, since clients send the same text again and again."""

import re

from gql_parse import MISSING, GraphQLError  # noqa: F401  (used by standin.py as gql.*)
from gql_parse import _location, _Parser, inspect, parse_type, print_value, type_str


# ------------------------------------------------------------------------ schema, compile

def _snake(name):
    return re.sub(r"([A-Z])", r"_\1", name).lower()


class Schema:
    """A schema given as type texts: roots {"Query"|"Mutation": {field: (type, {arg: (type,
    default or MISSING)})}}, objects {type: {field: type}}, inputs {type: {field: (type,
    default or MISSING)}}, enums {type: {GraphQL name: stored value}}, scalars {name}.
    Object fields read the snake_case key of the stored dict (createdAt -> created_at)."""

    def __init__(self, roots, objects, inputs, enums, scalars):
        self.roots = {r: {f: (parse_type(t), {a: (parse_type(at), d)
                                              for a, (at, d) in args.items()})
                          for f, (t, args) in fields.items()} for r, fields in roots.items()}
        self.objects = {o: {f: (parse_type(t), _snake(f)) for f, t in fields.items()}
                        for o, fields in objects.items()}
        self.inputs = {i: {f: (parse_type(t), d) for f, (t, d) in fields.items()}
                       for i, fields in inputs.items()}
        self.enums = enums
        self.enum_out = {e: {v: n for n, v in values.items()} for e, values in enums.items()}
        self.scalars = set(scalars)
        self.coercers = {}     # type text -> coercer()

    def coercer(self, t):
        key = type_str(t)
        conv = self.coercers.get(key)
        if conv is None:
            conv = self.coercers[key] = coercer(self, t)
        return conv


class Compiled:
    """One validated operation. roots: [(response key, field, [(arg, mode, x)], kind, locs)]
    where mode is "const" (x the value), "ast" (x a value tuple holding variables) or
    "default"; kind says how to complete the answer (see complete())."""

    __slots__ = ("kind", "name", "vardefs", "roots", "fields")

    def __init__(self, kind, name, vardefs, roots):
        self.kind = kind          # "query" or "mutation"
        self.name = name          # operation name or None
        self.vardefs = vardefs    # [(name, type, default or MISSING, locs, coercer)]
        self.roots = roots
        self.fields = {r[1] for r in roots}  # the root field names it asks for


class _Ctx:
    def __init__(self, schema, text, opname, vdefs):
        self.schema = schema
        self.text = text
        self.opname = opname
        self.vdefs = vdefs  # name -> [type, default ast, used, pos]

    def err(self, message, pos):
        return GraphQLError(message, [_location(self.text, pos)])


def compile_document(schema, text, operation_name=None):
    """Parses and validates text, selects the operation; returns a Compiled or raises
    GraphQLError (syntax and validation errors: no path)."""
    ops = _Parser(text).document()
    compiled = [_compile_op(schema, text, op) for op in ops]
    if operation_name is None:
        if len(compiled) > 1:
            raise GraphQLError("Must provide operation name if query contains multiple "
                               "operations.")
        return compiled[0]
    for c in compiled:
        if c.name == operation_name:
            return c
    raise GraphQLError("Unknown operation named '%s'." % operation_name)


def _compile_op(schema, text, op):
    kind, name, vardefs, sels, pos = op
    ctx = _Ctx(schema, text, name, {})
    if kind == "subscription":
        raise ctx.err("The kedro-graphql stand-in serves no subscriptions (kedro-graphql "
                      "serves them over WebSocket only).", pos)
    for vname, vtype, default, vpos in vardefs:
        if vname in ctx.vdefs:
            raise ctx.err("There can be only one variable named '$%s'." % vname, vpos)
        named = vtype
        while named[0] != "N":
            named = named[1]
        tn = named[1]
        if tn not in schema.inputs and tn not in schema.enums and tn not in schema.scalars:
            if tn in schema.objects:
                raise ctx.err("Variable '$%s' cannot be non-input type '%s'."
                              % (vname, type_str(vtype)), vpos)
            raise ctx.err("Unknown type '%s'." % tn, vpos)
        ctx.vdefs[vname] = [vtype, default, False, vpos]
    out_vardefs = []
    for vname, vtype, default, vpos in vardefs:
        dval = MISSING
        if default is not None:
            _check(ctx, default, vtype, False, vpos)
            dval = literal_value(schema, default, vtype, {})
        out_vardefs.append((vname, vtype, dval, [_location(text, vpos)],
                            schema.coercer(vtype)))
    roots = _selections(ctx, "Query" if kind == "query" else "Mutation", sels, True)
    for vname, (_, _, used, vpos) in ctx.vdefs.items():
        if not used:
            where = " in operation '%s'" % name if name else ""
            raise ctx.err("Variable '$%s' is never used%s." % (vname, where), vpos)
    return Compiled(kind, name, out_vardefs, roots)


def _selections(ctx, typename, sels, is_root):
    schema = ctx.schema
    fields = schema.roots[typename] if is_root else schema.objects[typename]
    groups = {}
    for f in sels:
        groups.setdefault(f[0], []).append(f)
    plan = []
    for key, group in groups.items():
        alias, fname, args, subsels, pos = group[0]
        printed = sorted((a, print_value(v)) for a, v, _ in args)
        for other in group[1:]:
            if other[1] != fname:
                raise ctx.err("Fields '%s' conflict because '%s' and '%s' are different fields."
                              " Use different aliases on the fields to fetch both if this was "
                              "intentional." % (key, fname, other[1]), other[4])
            if sorted((a, print_value(v)) for a, v, _ in other[2]) != printed:
                raise ctx.err("Fields '%s' conflict because they have differing arguments. Use"
                              " different aliases on the fields to fetch both if this was "
                              "intentional." % key, other[4])
            if subsels is not None and other[3] is not None:
                subsels = subsels + other[3]
        if fname == "__typename":
            if args:
                raise ctx.err("Unknown argument '%s' on field '%s.__typename'."
                              % (args[0][0], typename), args[0][2])
            if subsels is not None:
                raise ctx.err("Field '__typename' must not have a selection since type "
                              "'String!' has no subfields.", pos)
            plan.append((key, None, typename) if not is_root else
                        (key, fname, [], ("T", typename), [_location(ctx.text, pos)]))
            continue
        fdef = fields.get(fname)
        if fdef is None:
            raise ctx.err("Cannot query field '%s' on type '%s'." % (fname, typename), pos)
        ftype, extra = fdef
        argdefs = extra if is_root else {}
        argplan = _arguments(ctx, typename, fname, argdefs, args, pos)
        kind = _output_kind(ctx, fname, ftype, subsels, pos, ftype)
        if is_root:
            plan.append((key, fname, argplan, kind, [_location(ctx.text, pos)]))
        else:
            plan.append((key, extra, kind))
    return plan


def _arguments(ctx, typename, fname, argdefs, args, pos):
    given = {}
    for aname, v, apos in args:
        if aname not in argdefs:
            raise ctx.err("Unknown argument '%s' on field '%s.%s'." % (aname, typename, fname),
                          apos)
        if aname in given:
            raise ctx.err("There can be only one argument named '%s'." % aname, apos)
        given[aname] = (v, apos)
    plan = []
    for aname, (atype, default) in argdefs.items():
        if aname in given:
            v, apos = given[aname]
            if _check(ctx, v, atype, default is not MISSING, apos):
                plan.append((aname, "ast", v))
            else:
                plan.append((aname, "const", literal_value(ctx.schema, v, atype, {})))
        elif default is not MISSING:
            plan.append((aname, "default", default))
        elif atype[0] == "!":
            raise ctx.err("Field '%s' argument '%s' of type '%s' is required, but it was not "
                          "provided." % (fname, aname, type_str(atype)), pos)
    return plan


def _output_kind(ctx, fname, t, subsels, pos, full):
    """How to complete a value of output type t: ("S",) scalar, ("E", stored -> name) enum,
    ("L", kind) list, ("O", plan) object."""
    if t[0] == "!":
        return _output_kind(ctx, fname, t[1], subsels, pos, full)
    if t[0] == "L":
        return ("L", _output_kind(ctx, fname, t[1], subsels, pos, full))
    name = t[1]
    if name in ctx.schema.objects:
        if subsels is None:
            raise ctx.err("Field '%s' of type '%s' must have a selection of subfields. Did you "
                          "mean '%s { ... }'?" % (fname, type_str(full), fname), pos)
        return ("O", _selections(ctx, name, subsels, False))
    if subsels is not None:
        raise ctx.err("Field '%s' must not have a selection since type '%s' has no subfields."
                      % (fname, type_str(full)), pos)
    if name in ctx.schema.enums:
        return ("E", ctx.schema.enum_out[name])
    return ("S",)


def _is_subtype(a, b):
    if a == b:
        return True
    if b[0] == "!":
        return a[0] == "!" and _is_subtype(a[1], b[1])
    if a[0] == "!":
        return _is_subtype(a[1], b)
    if b[0] == "L":
        return a[0] == "L" and _is_subtype(a[1], b[1])
    return a[0] != "L" and a[1] == b[1]


_SCALAR_LITERAL = {
    "String": (("str",), "String cannot represent a non string value: %s"),
    "Int": (("int",), "Int cannot represent non-integer value: %s"),
    "Float": (("int", "float"), "Float cannot represent non numeric value: %s"),
    "Boolean": (("bool",), "Boolean cannot represent a non boolean value: %s"),
    "ID": (("str", "int"), "ID cannot represent a non-string and non-integer value: %s"),
    "DateTime": (("str",), "DateTime cannot represent value: %s"),
}


def _check(ctx, v, t, loc_default, pos):
    """Validates value tuple v at a position of type t; marks variables used; returns True
    when v holds a variable."""
    kind = v[0]
    if kind == "var":
        vd = ctx.vdefs.get(v[1])
        if vd is None:
            where = " by operation '%s'" % ctx.opname if ctx.opname else ""
            raise ctx.err("Variable '$%s' is not defined%s." % (v[1], where), pos)
        vd[2] = True
        vtype, vdefault = vd[0], vd[1]
        ok = _is_subtype(vtype, t)
        if not ok and t[0] == "!" and vtype[0] != "!":
            if (vdefault is not None and vdefault[0] != "null") or loc_default:
                ok = _is_subtype(vtype, t[1])
        if not ok:
            raise ctx.err("Variable '$%s' of type '%s' used in position expecting type '%s'."
                          % (v[1], type_str(vtype), type_str(t)), pos)
        return True
    if t[0] == "!":
        if kind == "null":
            raise ctx.err("Expected value of type '%s', found null." % type_str(t), pos)
        return _check(ctx, v, t[1], False, pos)
    if kind == "null":
        return False
    if t[0] == "L":
        if kind == "list":
            return any([_check(ctx, i, t[1], False, pos) for i in v[1]])
        return _check(ctx, v, t[1], False, pos)
    name = t[1]
    schema = ctx.schema
    if name in schema.inputs:
        if kind != "obj":
            raise ctx.err("Expected value of type '%s', found %s." % (name, print_value(v)), pos)
        fields = schema.inputs[name]
        seen, has_var = set(), False
        for fname, fv in v[1]:
            if fname not in fields:
                raise ctx.err("Field '%s' is not defined by type '%s'." % (fname, name), pos)
            if fname in seen:
                raise ctx.err("There can be only one input field named '%s'." % fname, pos)
            seen.add(fname)
            ftype, fdefault = fields[fname]
            has_var = _check(ctx, fv, ftype, fdefault is not MISSING, pos) or has_var
        for fname, (ftype, fdefault) in fields.items():
            if fname not in seen and ftype[0] == "!" and fdefault is MISSING:
                raise ctx.err("Field '%s.%s' of required type '%s' was not provided."
                              % (name, fname, type_str(ftype)), pos)
        return has_var
    if name in schema.enums:
        if kind != "enum":
            raise ctx.err("Enum '%s' cannot represent non-enum value: %s."
                          % (name, print_value(v)), pos)
        if v[1] not in schema.enums[name]:
            raise ctx.err("Value '%s' does not exist in '%s' enum." % (v[1], name), pos)
        return False
    kinds, message = _SCALAR_LITERAL.get(name, (("str",), "%s"))
    if kind not in kinds:
        raise ctx.err(message % print_value(v), pos)
    if name == "Int" and not -2**31 <= int(v[1]) < 2**31:
        raise ctx.err("Int cannot represent non 32-bit signed integer value: %s" % v[1], pos)
    return False


def literal_value(schema, v, t, variables):
    """The value of a validated value tuple v of type t, variables substituted (MISSING for
    a variable without a value), defaults of input fields filled in, enums as stored."""
    kind = v[0]
    if kind == "var":
        return variables.get(v[1], MISSING)
    if t[0] == "!":
        t = t[1]
    if kind == "null":
        return None
    if t[0] == "L":
        if kind != "list":
            return [literal_value(schema, v, t[1], variables)]
        items = [literal_value(schema, i, t[1], variables) for i in v[1]]
        return [None if i is MISSING else i for i in items]
    name = t[1]
    if name in schema.inputs:
        given = dict(v[1])
        out = {}
        for fname, (ftype, fdefault) in schema.inputs[name].items():
            x = literal_value(schema, given[fname], ftype, variables) if fname in given else MISSING
            if x is MISSING:
                x = fdefault
            if x is not MISSING:
                out[fname] = x
        return out
    if name in schema.enums:
        return schema.enums[name][v[1]]
    if name == "Int" or (name == "Float" and kind == "int"):
        return int(v[1]) if name == "Int" else float(v[1])
    if name == "Float":
        return float(v[1])
    if name == "ID":
        return str(v[1])
    return v[1]


# ------------------------------------------------------------------------------ variables

class _Invalid(Exception):
    """A variable value that does not fit; path grows (front first) while it unwinds."""

    def __init__(self, value, message, path=None):
        super().__init__(message)
        self.path, self.value, self.message = path or [], value, message


def _scalar_coercer(name):
    if name in ("String", "DateTime"):
        def coerce(v):
            if type(v) is str or v is None:
                return v
            raise _Invalid(v, "String cannot represent a non string value: " + inspect(v))
    elif name == "Int":
        def coerce(v):
            if v is None:
                return None
            if type(v) is float and v.is_integer():
                v = int(v)
            if type(v) is not int:
                raise _Invalid(v, "Int cannot represent non-integer value: " + inspect(v))
            if not -2**31 <= v < 2**31:
                raise _Invalid(v, "Int cannot represent non 32-bit signed integer value: "
                               + inspect(v))
            return v
    elif name == "Float":
        def coerce(v):
            if v is None or type(v) is float:
                return v
            if type(v) is int:
                return float(v)
            raise _Invalid(v, "Float cannot represent non numeric value: " + inspect(v))
    elif name == "Boolean":
        def coerce(v):
            if v is None or type(v) is bool:
                return v
            raise _Invalid(v, "Boolean cannot represent a non boolean value: " + inspect(v))
    else:  # ID
        def coerce(v):
            if v is None or type(v) is str:
                return v
            if type(v) is int:
                return str(v)
            raise _Invalid(v, "ID cannot represent value: " + inspect(v))
    return coerce


def _enum_coercer(name, values):
    def coerce(v):
        if v is None:
            return None
        x = values.get(v) if type(v) is str else None
        if x is not None:
            return x
        if type(v) is not str:
            raise _Invalid(v, "Enum '%s' cannot represent non-string value: %s."
                           % (name, inspect(v)))
        raise _Invalid(v, "Value '%s' does not exist in '%s' enum." % (v, name))
    return coerce


def _input_coercer(schema, name, memo):
    fields = []
    names = frozenset(schema.inputs[name])

    def coerce(v):
        if v is None:
            return None
        if type(v) is not dict:
            raise _Invalid(v, "Expected type '%s' to be a mapping." % name)
        out = {}
        for fname, conv, default, required, text in fields:
            x = v.get(fname, MISSING)
            if x is not MISSING:
                if text and type(x) is str:  # the common case without a call
                    out[fname] = x
                    continue
                try:
                    out[fname] = conv(x)
                except _Invalid as e:
                    e.path.insert(0, fname)
                    raise
            elif default is not MISSING:
                out[fname] = default
            elif required:
                raise _Invalid(v, required)
        if not names.issuperset(v):
            for fname in v:
                if fname not in names:
                    raise _Invalid(v, "Field '%s' is not defined by type '%s'." % (fname, name))
        return out
    memo[name] = coerce
    for fname, (ftype, fdefault) in schema.inputs[name].items():
        required = None
        if ftype[0] == "!" and fdefault is MISSING:
            required = "Field '%s' of required type '%s' was not provided." % (fname,
                                                                              type_str(ftype))
        named = ftype[1] if ftype[0] == "!" else ftype
        text = named[0] == "N" and named[1] in ("String", "ID", "DateTime")
        fields.append((fname, coercer(schema, ftype, memo), fdefault, required, text))
    return coerce


def _non_null(inner, t):
    message = "Expected non-nullable type '%s' not to be null." % type_str(t)

    def non_null(v):
        if v is None:
            raise _Invalid(v, message)
        return inner(v)
    return non_null


def coercer(schema, t, memo=None):
    """A function from a JSON value to the value of input type t (enums as stored, input
    object defaults filled in); raises _Invalid."""
    memo = {} if memo is None else memo
    if t[0] == "!":
        return _non_null(coercer(schema, t[1], memo), t)
    if t[0] == "L":
        item_type = t[1]
        inner = coercer(schema, item_type[1] if item_type[0] == "!" else item_type, memo)
        null_item = None
        if item_type[0] == "!":
            null_item = "Expected non-nullable type '%s' not to be null." % type_str(item_type)

        def as_list(v):
            if type(v) is not list:
                return None if v is None else [inner(v)]
            out = []
            for i, x in enumerate(v):
                if x is None and null_item:
                    raise _Invalid(x, null_item, [i])
                try:
                    out.append(inner(x))
                except _Invalid as e:
                    e.path.insert(0, i)
                    raise
            return out
        return as_list
    name = t[1]
    if name in memo:
        return memo[name]
    if name in schema.inputs:
        return _input_coercer(schema, name, memo)
    if name in schema.enums:
        memo[name] = _enum_coercer(name, schema.enums[name])
    else:
        memo[name] = _scalar_coercer(name)
    return memo[name]


def coerce_variables(schema, compiled, provided):
    """The operation's variable values from the request's JSON `variables`; raises
    GraphQLError with graphql-core's message for a missing or ill-typed value."""
    out = {}
    for name, vtype, dval, locs, conv in compiled.vardefs:
        if name in provided:
            v = provided[name]
            if v is None and vtype[0] == "!":
                raise GraphQLError("Variable '$%s' of non-null type '%s' must not be null."
                                   % (name, type_str(vtype)), locs)
            try:
                out[name] = conv(v)
            except _Invalid as e:
                at = ""
                if e.path:
                    at = " at '%s%s'" % (name, "".join(
                        "[%d]" % k if type(k) is int else "." + k for k in e.path))
                raise GraphQLError("Variable '$%s' got invalid value %s%s; %s"
                                   % (name, inspect(e.value), at, e.message), locs)
        elif dval is not MISSING:
            out[name] = dval
        elif vtype[0] == "!":
            raise GraphQLError("Variable '$%s' of required type '%s' was not provided."
                               % (name, type_str(vtype)), locs)
    return out


def resolve_arguments(schema, root_field, argplan, variables, argtypes):
    """The keyword arguments of a root field: constants, defaults and variables' values."""
    args = {}
    for aname, mode, x in argplan:
        if mode == "ast":
            atype, default = argtypes[aname]
            x = literal_value(schema, x, atype, variables)
            if x is MISSING:
                if default is MISSING:
                    continue
                x = default
            if x is None and atype[0] == "!":
                raise GraphQLError("Argument '%s' of non-null type '%s' must not be null."
                                   % (aname, type_str(atype)))
        args[aname] = x
    return args


def complete(value, kind):
    """The answer for value (a stored dict, list or scalar) as kind asks (see _output_kind):
    only the selected fields, enums by name."""
    if value is None:
        return None
    tag = kind[0]
    if tag == "S":
        return value
    if tag == "O":
        out = {}
        for key, snake, k in kind[1]:
            out[key] = k if snake is None else complete(value.get(snake), k)
        return out
    if tag == "L":
        inner = kind[1]
        return [complete(x, inner) for x in value]
    if tag == "E":
        return kind[1].get(value, value)
    return kind[1]  # "T": __typename of a root field
