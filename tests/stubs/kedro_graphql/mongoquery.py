"""mongoquery -- the part of MongoDB's query language the kedro-graphql stand-in matches
its stored pipelines with (readPipelines' `filter` and `sort`), with MongoDB's semantics for
dotted paths, lists and null, and its messages for what it refuses."""


class QueryError(Exception):
    """A MongoDB query or sort the backend refuses (an execution error in readPipelines)."""


def values_at(doc, path):
    """The values at a dotted path, lists traversed as MongoDB does."""
    vals = [doc]
    for part in path.split("."):
        nxt = []
        for v in vals:
            if type(v) is dict:
                if part in v:
                    nxt.append(v[part])
            elif type(v) is list:
                if part.isdigit() and int(part) < len(v):
                    nxt.append(v[int(part)])
                nxt.extend(e[part] for e in v if type(e) is dict and part in e)
        vals = nxt
    return vals


def _eq(values, x):
    if not values:
        return x is None
    for v in values:
        if v == x or (type(v) is list and x in v):
            return True
    return False


def _cmp(values, x, op):
    for v in values:
        for e in (v if type(v) is list else [v]):
            try:
                if ((op == "$gt" and e > x) or (op == "$gte" and e >= x)
                        or (op == "$lt" and e < x) or (op == "$lte" and e <= x)):
                    return True
            except TypeError:
                pass
    return False


def _is_operator_doc(cond):
    return type(cond) is dict and cond and all(k.startswith("$") for k in cond)


def _match_field(values, cond):
    if not _is_operator_doc(cond):
        return _eq(values, cond)
    for op, arg in cond.items():
        if op == "$eq":
            ok = _eq(values, arg)
        elif op == "$ne":
            ok = not _eq(values, arg)
        elif op in ("$in", "$nin"):
            if type(arg) is not list:
                raise QueryError("%s needs an array" % op)
            ok = any(_eq(values, a) for a in arg) == (op == "$in")
        elif op == "$elemMatch":
            if type(arg) is not dict:
                raise QueryError("$elemMatch needs an Object")
            if _is_operator_doc(arg) and not any(k in ("$and", "$or", "$nor") for k in arg):
                ok = any(_match_field([e], arg) for v in values if type(v) is list for e in v)
            else:
                ok = any(type(e) is dict and match(e, arg)
                         for v in values if type(v) is list for e in v)
        elif op == "$exists":
            ok = bool(values) == bool(arg)
        elif op in ("$gt", "$gte", "$lt", "$lte"):
            ok = _cmp(values, arg, op)
        else:
            raise QueryError("unknown operator: %s" % op)
        if not ok:
            return False
    return True


def match(doc, query):
    """Whether a stored pipeline (or an element of one of its lists) matches a MongoDB query;
    raises QueryError for what MongoDB refuses."""
    for key, cond in query.items():
        if key in ("$and", "$or", "$nor"):
            if type(cond) is not list or not cond:
                raise QueryError("%s must be a nonempty array" % key)
            hits = [match(doc, q) if type(q) is dict else _bad_clause(key) for q in cond]
            ok = all(hits) if key == "$and" else any(hits) == (key == "$or")
        elif key.startswith("$"):
            raise QueryError("unknown top level operator: %s" % key)
        else:
            ok = _match_field(values_at(doc, "id" if key == "_id" else key), cond)
        if not ok:
            return False
    return True


OPERATORS = ("$eq", "$ne", "$in", "$nin", "$elemMatch", "$exists", "$gt", "$gte", "$lt", "$lte")


def check(query):
    """Raises QueryError for what MongoDB refuses in a query, whatever the data (match()
    alone would only notice it on a document that reaches the bad part)."""
    for key, cond in query.items():
        if key in ("$and", "$or", "$nor"):
            if type(cond) is not list or not cond:
                raise QueryError("%s must be a nonempty array" % key)
            for q in cond:
                check(q) if type(q) is dict else _bad_clause(key)
        elif key.startswith("$"):
            raise QueryError("unknown top level operator: %s" % key)
        elif _is_operator_doc(cond):
            _check_operators(cond)


def _check_operators(cond):
    for op, arg in cond.items():
        if op not in OPERATORS:
            raise QueryError("unknown operator: %s" % op)
        if op in ("$in", "$nin") and type(arg) is not list:
            raise QueryError("%s needs an array" % op)
        if op == "$elemMatch":
            if type(arg) is not dict:
                raise QueryError("$elemMatch needs an Object")
            if _is_operator_doc(arg) and not any(k in ("$and", "$or", "$nor") for k in arg):
                _check_operators(arg)
            else:
                check(arg)


def _bad_clause(key):
    raise QueryError("%s argument's entries must be objects" % key)


def tag_candidates(query, index):
    """Ids that can match query, from the (key, value) tag index, or None to scan all: only
    for a tags $elemMatch with a plain key and a plain value or $in of values."""
    cond = query.get("tags")
    if type(cond) is not dict or set(cond) != {"$elemMatch"}:
        for sub in query.get("$and", ()) if type(query.get("$and")) is list else ():
            if type(sub) is dict:
                found = tag_candidates(sub, index)
                if found is not None:
                    return found
        return None
    em = cond["$elemMatch"]
    if type(em) is not dict or type(em.get("key")) is not str:
        return None
    value = em.get("value")
    if type(value) is str:
        values = [value]
    elif type(value) is dict and set(value) == {"$in"} and type(value["$in"]) is list \
            and all(type(v) is str for v in value["$in"]):
        values = value["$in"]
    else:
        return None
    ids = set()
    for v in values:
        ids.update(index.get((em["key"], v), ()))
    return ids


def sort_key(rec, key):
    vals = values_at(rec, "id" if key == "_id" else key)
    v = vals[0] if vals else None
    if v is None:
        return (0, 0, "")
    if type(v) in (int, float, bool):
        return (1, v, "")
    return (2, 0, str(v))
