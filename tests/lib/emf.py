"""A validator of CloudWatch Embedded Metric Format objects, written from AWS's specification
("Specification: Embedded metric format", CloudWatch User Guide), independent of the C code that
writes them. validate(obj) raises AssertionError naming the first rule an object breaks."""

UNITS = {
    "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes",
    "Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count",
    "Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second",
    "Terabytes/Second", "Bits/Second", "Kilobits/Second", "Megabits/Second", "Gigabits/Second",
    "Terabits/Second", "Count/Second", "None",
}


def _is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _check(cond, what):
    if not cond:
        raise AssertionError("EMF: " + what)


def validate(obj):
    _check(isinstance(obj, dict), "the root is an object")
    aws = obj.get("_aws")
    _check(isinstance(aws, dict), "_aws is an object")
    ts = aws.get("Timestamp")
    _check(isinstance(ts, int) and not isinstance(ts, bool) and ts >= 0,
           "_aws.Timestamp is a non-negative integer (ms since the epoch)")
    directives = aws.get("CloudWatchMetrics")
    _check(isinstance(directives, list) and directives, "CloudWatchMetrics is a non-empty array")
    for d in directives:
        _check(isinstance(d, dict), "a MetricDirective is an object")
        ns = d.get("Namespace")
        _check(isinstance(ns, str) and 1 <= len(ns) <= 1024 and ns.strip() and ":" not in ns,
               "Namespace is a string of 1-1024 characters")
        dims = d.get("Dimensions")
        _check(isinstance(dims, list), "Dimensions is an array of DimensionSets")
        for dset in dims:
            _check(isinstance(dset, list) and len(dset) <= 30, "a DimensionSet has at most 30 keys")
            _check(len(set(dset)) == len(dset), "a DimensionSet names a key once")
            for key in dset:
                _check(isinstance(key, str) and key in obj, "dimension %r is a root member" % key)
                value = obj[key]
                _check(isinstance(value, str) and 1 <= len(value) <= 1024 and value.strip(),
                       "dimension %r has a string value of 1-1024 characters" % key)
        metrics = d.get("Metrics")
        _check(isinstance(metrics, list) and len(metrics) <= 100, "Metrics has at most 100 entries")
        names = set()
        for m in metrics:
            _check(isinstance(m, dict), "a MetricDefinition is an object")
            name = m.get("Name")
            _check(isinstance(name, str) and 1 <= len(name) <= 1024 and name not in names,
                   "a metric Name is a unique string of 1-1024 characters")
            names.add(name)
            _check("Unit" not in m or m["Unit"] in UNITS, "metric %r has a known Unit" % name)
            _check(m.get("StorageResolution", 60) in (1, 60), "StorageResolution is 1 or 60")
            value = obj.get(name)
            ok = _is_number(value) or (isinstance(value, list) and 0 < len(value) <= 100 and
                                       all(_is_number(v) for v in value))
            _check(ok, "metric %r has a number (or up to 100 numbers) at the root" % name)
