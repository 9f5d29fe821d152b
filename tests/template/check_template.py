"""Checks of template.yaml (AWS SAM) against the CloudFormation + SAM resource specification and
against the C code it deploys.

Each `def test_<name>(` is one ctest (tests/template.cmake). Inputs:
  SMR_SOURCE_DIR              the repository (template.yaml, runtime/, rotators/, bootstrap/)
  SMR_TEMPLATE_NODE_MODULES   node_modules installed by `npm ci` from tests/template/package.json:
                              @aws-cdk/cfnspec (the specification; its SAM part is the
                              AWS::Serverless::* types) and yaml (the parser).
The YAML is read by tests/template/load_template.js (a real YAML parser with CloudFormation's
short-form tags); everything else here is standard-library Python.
"""
import copy
import functools
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import smtest  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))

# Properties AWS added after the pinned specification (cfnspec 2.105.0-alpha.0, resource
# specification 130.1.0). Each entry: the property's documentation page, and the sub-properties we
# accept (checked like spec properties: name and type only). template_newer_than_spec_list_is_current
# fails when the pinned spec learns one of them, so this list only ever shrinks.
NEWER_THAN_SPEC = {
    ("AWS::Serverless::Function", "LoggingConfig"): {
        "doc": "https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/"
               "sam-resource-function.html#sam-function-loggingconfig",
        "subdoc": "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/"
                  "aws-properties-lambda-function-loggingconfig.html",
        "properties": {
            "LogFormat": {"values": ["Text", "JSON"]},
            "ApplicationLogLevel": {"values": ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"]},
            "SystemLogLevel": {"values": ["DEBUG", "INFO", "WARN"]},
            "LogGroup": {},
        },
    },
}

# The least-privilege set (AWS's rotation templates' policies and AWS's "Lambda rotation function
# execution role permissions" page), statement by statement: Sid -> actions.
EXPECTED_STATEMENTS = {
    "RotateSecretsThatNameThisFunction": {
        "secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue",
        "secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage"},
    "GenerateRandomPassword": {"secretsmanager:GetRandomPassword"},
    "WriteLogs": {"logs:CreateLogStream", "logs:PutLogEvents"},
    "CreateDefaultLogGroup": {"logs:CreateLogGroup"},
    "UseSecretsKey": {"kms:Decrypt", "kms:GenerateDataKey"},
    "ReadMasterSecret": {"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"},
    "UseMasterSecretKey": {"kms:Decrypt"},
    "DescribeRdsDatabases": {"rds:DescribeDBInstances", "rds:DescribeDBClusters"},
    "ManageVpcNetworkInterfaces": {
        "ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets",
        "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses",
        "ec2:UnassignPrivateIpAddresses"},
}
# Statements that only exist under a condition (parameter given / in a VPC).
EXPECTED_STATEMENT_CONDITIONS = {
    "CreateDefaultLogGroup": "UsesExistingLogGroup",
    "UseSecretsKey": "HasKmsKey",
    "ReadMasterSecret": "HasMasterSecret",
    "UseMasterSecretKey": "HasMasterSecretKmsKey",
    "DescribeRdsDatabases": "UsesMaster",
    "ManageVpcNetworkInterfaces": "InVpc",
}
# RDS's Describe actions are granted on every instance and cluster of the account and region
# (which ones a rotation asks about is known only at run time), never on "*".
RDS_RESOURCES = [
    {"Fn::Sub": "arn:${AWS::Partition}:rds:${AWS::Region}:${AWS::AccountId}:db:*"},
    {"Fn::Sub": "arn:${AWS::Partition}:rds:${AWS::Region}:${AWS::AccountId}:cluster:*"},
]
# Only these may use Resource "*" (the actions have no resource-level permissions).
WILDCARD_RESOURCE_OK = {"GenerateRandomPassword", "ManageVpcNetworkInterfaces"}

# _HANDLER aliases the code accepts that the template need not offer: alias -> canonical value.
HANDLER_ALIASES = {"alternating-users": "multi-user"}

PSEUDO_PARAMETERS = {
    "AWS::AccountId", "AWS::NotificationARNs", "AWS::NoValue", "AWS::Partition", "AWS::Region",
    "AWS::StackId", "AWS::StackName", "AWS::URLSuffix"}
TOP_LEVEL = {
    "AWSTemplateFormatVersion", "Description", "Metadata", "Parameters", "Rules", "Mappings",
    "Conditions", "Transform", "Resources", "Outputs", "Globals"}
RESOURCE_KEYS = {
    "Type", "Properties", "Condition", "DependsOn", "Metadata", "DeletionPolicy",
    "UpdateReplacePolicy", "CreationPolicy", "UpdatePolicy"}
# SAM resources take their GetAtt attributes from the resource they become.
SAM_ATTRIBUTE_SOURCE = {"AWS::Serverless::Function": "AWS::Lambda::Function"}
INTRINSICS = {
    "Ref", "Condition", "Fn::Base64", "Fn::Cidr", "Fn::FindInMap", "Fn::GetAtt", "Fn::GetAZs",
    "Fn::ImportValue", "Fn::Join", "Fn::Select", "Fn::Split", "Fn::Sub", "Fn::Transform",
    "Fn::And", "Fn::Equals", "Fn::If", "Fn::Not", "Fn::Or", "Fn::Contains", "Fn::ToJsonString",
    "Fn::Length"}


def source_dir():
    return smtest.env("SMR_SOURCE_DIR")


def template_path():
    return os.environ.get("SMR_TEMPLATE_FILE") or os.path.join(source_dir(), "template.yaml")


def node_modules():
    path = smtest.env("SMR_TEMPLATE_NODE_MODULES")
    if not os.path.isdir(os.path.join(path, "@aws-cdk", "cfnspec")):
        raise AssertionError("%s has no @aws-cdk/cfnspec: run `npm ci` in a copy of tests/template "
                             "(the template_npm_ci fixture does)" % path)
    return path


@functools.lru_cache(maxsize=None)
def template():
    node = os.environ.get("SMR_NODE") or "node"
    proc = subprocess.run([node, os.path.join(HERE, "load_template.js"), template_path(),
                           node_modules()], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise AssertionError("template.yaml does not parse:\n" + proc.stderr)
    return json.loads(proc.stdout)


@functools.lru_cache(maxsize=None)
def spec():
    path = os.path.join(node_modules(), "@aws-cdk", "cfnspec", "spec", "specification.json")
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def fail_if(problems, what):
    if problems:
        raise AssertionError("%s:\n  %s" % (what, "\n  ".join(problems)))


def intrinsic(value):
    """The intrinsic function name when value is one ({"Ref": x} / {"Fn::X": ...}), else None."""
    if isinstance(value, dict) and len(value) == 1:
        key = next(iter(value))
        if key in INTRINSICS:
            return key
    return None


def walk(value, path="$"):
    """Yields (path, node) for every node of a JSON value."""
    yield path, value
    if isinstance(value, dict):
        for k, v in value.items():
            yield from walk(v, "%s.%s" % (path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from walk(v, "%s[%d]" % (path, i))


def branches(value):
    """The concrete values an Fn::If can take (both branches, recursively; AWS::NoValue dropped)."""
    if intrinsic(value) == "Fn::If":
        args = value["Fn::If"]
        out = []
        for v in args[1:]:
            out.extend(branches(v))
        return out
    if value == {"Ref": "AWS::NoValue"}:
        return []
    return [value]


# ----- specification checks ------------------------------------------------------------------

PRIMITIVE_CHECKS = {
    "String": lambda v: isinstance(v, (str, int, float)) and not isinstance(v, bool),
    "Integer": lambda v: (isinstance(v, int) and not isinstance(v, bool)) or
                         (isinstance(v, str) and re.fullmatch(r"-?[0-9]+", v) is not None),
    "Long": lambda v: (isinstance(v, int) and not isinstance(v, bool)) or
                      (isinstance(v, str) and re.fullmatch(r"-?[0-9]+", v) is not None),
    "Double": lambda v: isinstance(v, (int, float, str)) and not isinstance(v, bool),
    "Boolean": lambda v: isinstance(v, bool) or v in ("true", "false"),
    "Json": lambda v: isinstance(v, (dict, str)),
    "Timestamp": lambda v: isinstance(v, str),
}


def property_type(resource_type, name):
    """The spec's PropertyTypes entry of a property type name used by resource_type."""
    types = spec()["PropertyTypes"]
    if name == "Tag":
        return types.get("Tag")
    return types.get("%s.%s" % (resource_type, name))


def check_value(resource_type, prop_spec, value, path, problems):
    """Checks value against one property's spec entry (type, nested properties, required ones)."""
    if intrinsic(value) == "Fn::If":
        for v in branches(value):
            check_value(resource_type, prop_spec, v, path, problems)
        return
    if intrinsic(value):
        return  # resolved at deploy time: its references are checked elsewhere
    kind = prop_spec.get("Type")
    if kind in ("List", "Map"):
        if kind == "List" and not isinstance(value, list):
            problems.append("%s: expected a list" % path)
            return
        if kind == "Map" and not isinstance(value, dict):
            problems.append("%s: expected a map" % path)
            return
        items = enumerate(value) if kind == "List" else value.items()
        for key, item in items:
            sub = dict(prop_spec)
            sub.pop("Type")
            if "ItemType" in prop_spec:
                sub["Type"] = prop_spec["ItemType"]
            elif "PrimitiveItemType" in prop_spec:
                sub["PrimitiveType"] = prop_spec["PrimitiveItemType"]
            elif "ItemTypes" in prop_spec or "PrimitiveItemTypes" in prop_spec:
                sub["Types"] = prop_spec.get("ItemTypes", [])
                sub["PrimitiveTypes"] = prop_spec.get("PrimitiveItemTypes", [])
            else:
                continue
            check_value(resource_type, sub, item, "%s[%s]" % (path, key), problems)
        return
    candidates = []
    if kind:
        candidates.append(("type", kind))
    for t in prop_spec.get("Types", []):
        candidates.append(("type", t))
    if "PrimitiveType" in prop_spec:
        candidates.append(("primitive", prop_spec["PrimitiveType"]))
    for t in prop_spec.get("PrimitiveTypes", []):
        candidates.append(("primitive", t))
    if not candidates:
        return
    attempts = []
    for how, name in candidates:
        sub_problems = []
        if how == "primitive":
            if not PRIMITIVE_CHECKS.get(name, lambda v: True)(value):
                sub_problems.append("%s: %r is not a %s" % (path, value, name))
        else:
            ptype = property_type(resource_type, name)
            if ptype is None:
                sub_problems.append("%s: property type %s.%s missing from the spec" %
                                    (path, resource_type, name))
            elif not isinstance(value, dict):
                sub_problems.append("%s: expected a %s object" % (path, name))
            else:
                check_properties(resource_type, ptype.get("Properties", {}), value, path,
                                 sub_problems)
        if not sub_problems:
            return
        attempts.append(sub_problems)
    problems.extend(attempts[0] if len(attempts) == 1 else
                    ["%s: matches none of %s: %s" % (path, [c[1] for c in candidates],
                                                     "; ".join(a[0] for a in attempts))])


def check_properties(resource_type, props_spec, props, path, problems):
    for name, value in props.items():
        newer = NEWER_THAN_SPEC.get((resource_type, name)) if path.count(".") == 2 else None
        if name in props_spec:
            check_value(resource_type, props_spec[name], value, "%s.%s" % (path, name), problems)
        elif newer is not None:
            check_newer(newer, value, "%s.%s" % (path, name), problems)
        else:
            problems.append("%s.%s: no such property of %s" % (path, name, resource_type))
    for name, p in props_spec.items():
        if p.get("Required") and name not in props:
            problems.append("%s: required property %s missing" % (path, name))


def check_newer(newer, value, path, problems):
    for v in branches(value):
        if intrinsic(v):
            continue
        if not isinstance(v, dict):
            problems.append("%s: expected an object (%s)" % (path, newer["doc"]))
            continue
        for key, sub in v.items():
            if key not in newer["properties"]:
                problems.append("%s.%s: not a property (%s)" % (path, key, newer["subdoc"]))
                continue
            allowed = newer["properties"][key].get("values")
            for b in branches(sub):
                if allowed and not intrinsic(b) and b not in allowed:
                    problems.append("%s.%s: %r not one of %s" % (path, key, b, allowed))


def resource_problems(tmpl):
    problems = []
    types = spec()["ResourceTypes"]
    for logical_id, res in tmpl.get("Resources", {}).items():
        path = "Resources.%s" % logical_id
        for key in res:
            if key not in RESOURCE_KEYS:
                problems.append("%s: unknown resource attribute %s" % (path, key))
        rtype = res.get("Type")
        if rtype not in types:
            continue  # reported by template_resource_types_exist_in_spec
        check_properties(rtype, types[rtype].get("Properties", {}), res.get("Properties", {}),
                         path + ".Properties", problems)
    return problems


# ----- references --------------------------------------------------------------------------

SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


def reference_problems(tmpl):
    problems = []
    params = set(tmpl.get("Parameters", {}))
    resources = tmpl.get("Resources", {})
    conditions = set(tmpl.get("Conditions", {}))
    types = spec()["ResourceTypes"]

    def check_ref(name, path, local=()):
        if name in params or name in resources or name in PSEUDO_PARAMETERS or name in local:
            return
        problems.append("%s: Ref to undefined %r" % (path, name))

    def check_getatt(res_name, attr, path):
        if res_name not in resources:
            problems.append("%s: GetAtt of undefined resource %r" % (path, res_name))
            return
        rtype = resources[res_name].get("Type")
        rtype = SAM_ATTRIBUTE_SOURCE.get(rtype, rtype)
        attrs = types.get(rtype, {}).get("Attributes", {})
        if attr not in attrs:
            problems.append("%s: %s has no attribute %r (has %s)" %
                            (path, res_name, attr, sorted(attrs)))

    for path, node in walk(tmpl):
        fn = intrinsic(node)
        if fn == "Ref":
            check_ref(node["Ref"], path)
        elif fn == "Fn::GetAtt":
            res_name, attr = node["Fn::GetAtt"]
            check_getatt(res_name, attr, path)
        elif fn == "Fn::If" or (fn == "Condition" and path.startswith("$.Conditions")):
            name = node[fn][0] if fn == "Fn::If" else node[fn]
            if name not in conditions:
                problems.append("%s: condition %r is not defined" % (path, name))
        elif fn == "Fn::Sub":
            arg = node["Fn::Sub"]
            text, local = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
            for var in SUB_VARIABLE.findall(text):
                if "." in var and var not in PSEUDO_PARAMETERS:
                    res_name, attr = var.split(".", 1)
                    check_getatt(res_name, attr, path)
                else:
                    check_ref(var, path, local)
    for logical_id, res in resources.items():
        cond = res.get("Condition")
        if cond is not None and cond not in conditions:
            problems.append("Resources.%s: condition %r is not defined" % (logical_id, cond))
        deps = res.get("DependsOn", [])
        for dep in [deps] if isinstance(deps, str) else deps:
            if dep not in resources:
                problems.append("Resources.%s: DependsOn undefined %r" % (logical_id, dep))
    for name, out in tmpl.get("Outputs", {}).items():
        cond = out.get("Condition")
        if cond is not None and cond not in conditions:
            problems.append("Outputs.%s: condition %r is not defined" % (name, cond))
    iface = tmpl.get("Metadata", {}).get("AWS::CloudFormation::Interface", {})
    for group in iface.get("ParameterGroups", []):
        for p in group.get("Parameters", []):
            if p not in params:
                problems.append("Metadata ParameterGroups: undefined parameter %r" % p)
    return problems


def used_names(tmpl):
    """Parameters and conditions referenced anywhere outside their own definitions."""
    used = set()
    body = {k: v for k, v in tmpl.items() if k not in ("Parameters", "Metadata")}
    for _, node in walk(body):
        fn = intrinsic(node)
        if fn == "Ref":
            used.add(node["Ref"])
        elif fn == "Fn::If":
            used.add(node["Fn::If"][0])
        elif fn == "Condition":
            used.add(node["Condition"])
        elif fn == "Fn::Sub":
            arg = node["Fn::Sub"]
            used.update(SUB_VARIABLE.findall(arg if isinstance(arg, str) else arg[0]))
    for res in tmpl.get("Resources", {}).values():
        if "Condition" in res:
            used.add(res["Condition"])
    return used


# ----- the C code ---------------------------------------------------------------------------

def c_sources():
    """(path, text) of the C sources that make up bootstrap (not tests)."""
    out = []
    root = source_dir()
    for sub in ("bootstrap", "rotators", "runtime"):
        # Subdirectories too: the engines live in rotators/engines/.
        for d, dirs, files in sorted(os.walk(os.path.join(root, sub))):
            dirs.sort()
            for name in sorted(files):
                if name.endswith((".c", ".h")):
                    with open(os.path.join(d, name), encoding="utf-8", errors="replace") as f:
                        out.append((os.path.relpath(os.path.join(d, name), root), f.read()))
    return out


def strip_comments(text):
    return re.sub(r"/\*.*?\*/|//[^\n]*", " ", text, flags=re.S)


FUNC_DEF = re.compile(r"^[A-Za-z_][\w \t\*]*?\b([A-Za-z_]\w*)\s*\([^;{]*\)\s*\{", re.M)


def env_vars_read_by_code():
    """Names the code reads from the environment: getenv("X"), secure_getenv("X"), or
    wrapper("X", ...) where wrapper is a function that passes its argument to getenv."""
    sources = [(p, strip_comments(t)) for p, t in c_sources()]
    wrappers = {"getenv", "secure_getenv"}
    for _, text in sources:
        defs = [(m.start(), m.group(1)) for m in FUNC_DEF.finditer(text)]
        for m in re.finditer(r"\b(?:secure_)?getenv\s*\(\s*[A-Za-z_]\w*\s*\)", text):
            enclosing = [name for start, name in defs if start < m.start()]
            if enclosing:
                wrappers.add(enclosing[-1])
    names = {}
    alternatives = "|".join(sorted(map(re.escape, wrappers)))
    call = re.compile(r"\b(%s)\s*\(\s*\"([A-Za-z_][A-Za-z0-9_]*)\"" % alternatives)
    # wrapper(table[i]) reads every name in `table[] = { "A", "B" }` of the same file.
    table_call = re.compile(r"\b(%s)\s*\(\s*([A-Za-z_]\w*)\s*\[" % alternatives)
    # A function that reads table[i] of a table it was given (aws_endpoint_from_env(vars, ...))
    # reads every name of the table its callers pass.
    table_readers = set()
    for _, text in sources:
        defs = [(m.start(), m.group(1)) for m in FUNC_DEF.finditer(text)]
        for m in table_call.finditer(text):
            enclosing = [name for start, name in defs if start < m.start()]
            if enclosing and not re.search(r"\b%s\s*\[[^\]]*\]\s*=" % re.escape(m.group(2)), text):
                table_readers.add(enclosing[-1])
    reader_call = re.compile(r"\b(%s)\s*\(\s*([A-Za-z_]\w*)\s*," % "|".join(
        sorted(map(re.escape, table_readers)))) if table_readers else None
    for path, text in sources:
        for m in call.finditer(text):
            names.setdefault(m.group(2), "%s (%s)" % (path, m.group(1)))
        tables = list(table_call.finditer(text)) + (list(reader_call.finditer(text)) if reader_call else [])
        for m in tables:
            table = re.search(r"\b%s\s*\[[^\]]*\]\s*=\s*\{(.*?)\}\s*;" % re.escape(m.group(2)),
                              text, re.S)
            for lit in re.findall(r"\"([A-Za-z_][A-Za-z0-9_]*)\"", table.group(1) if table else ""):
                names.setdefault(lit, "%s (%s via %s[])" % (path, m.group(1), m.group(2)))
    return names, wrappers


def handler_names_in_code():
    """The Handler names the strategies accept: the strings of every table a strategy names as
    its `.handler_names` (rotators/strategy.c). (Other "<word>-user" literals, such as the check
    named alternate-user, are not Handler values.)"""
    found = {}
    for path, text in c_sources():
        if path.startswith("runtime/"):
            continue
        text = strip_comments(text)
        for table in re.findall(r"\.handler_names\s*=\s*([A-Za-z_]\w*)", text):
            m = re.search(r"\b%s\s*\[[^\]]*\]\s*=\s*\{(.*?)\}\s*;" % re.escape(table), text, re.S)
            for lit in re.findall(r"\"([^\"]+)\"", m.group(1) if m else ""):
                found.setdefault(lit, "%s (%s)" % (path, table))
    return found


def rds_permissions_in_code():
    """The RDS permissions the C code names (in AccessDenied messages: "the function's role
    needs rds:X"), with the file that names each."""
    found = {}
    for path, text in c_sources():
        for lit in re.findall(r"\"(rds:[A-Za-z]+)\"", strip_comments(text)):
            found.setdefault(lit, path)
    return found


# ----- tests --------------------------------------------------------------------------------

def test_template_parses_as_sam_template():
    tmpl = template()
    fail_if(sorted(set(tmpl) - TOP_LEVEL), "unknown top-level sections")
    smtest.assert_eq(tmpl.get("AWSTemplateFormatVersion"), "2010-09-09", "AWSTemplateFormatVersion")
    smtest.assert_eq(tmpl.get("Transform"), "AWS::Serverless-2016-10-31", "Transform")
    for name, p in tmpl["Parameters"].items():
        smtest.assert_in(p.get("Type"), ("String", "Number", "CommaDelimitedList"),
                         "Parameters.%s.Type" % name)
        if "Default" in p and "AllowedValues" in p:
            smtest.assert_in(p["Default"], p["AllowedValues"], "Parameters.%s.Default" % name)
        if "Default" in p and "AllowedPattern" in p:
            if not re.fullmatch(p["AllowedPattern"], str(p["Default"])):
                raise AssertionError("Parameters.%s.Default does not match AllowedPattern" % name)


def test_template_resource_types_exist_in_spec():
    types = spec()["ResourceTypes"]
    missing = ["%s: %s" % (k, r.get("Type")) for k, r in template()["Resources"].items()
               if r.get("Type") not in types]
    fail_if(missing, "resource types not in the pinned specification %s" %
            spec().get("ResourceSpecificationVersion"))


def test_template_resource_properties_exist_in_spec():
    fail_if(resource_problems(template()), "properties not matching the specification")
    for (rtype, prop), newer in NEWER_THAN_SPEC.items():
        print("newer than the pinned spec, checked by name only: %s.%s (%s)" %
              (rtype, prop, newer["doc"]))


def test_template_newer_than_spec_list_is_current():
    types = spec()["ResourceTypes"]
    stale = ["%s.%s" % key for key in NEWER_THAN_SPEC
             if key[1] in types.get(key[0], {}).get("Properties", {})]
    fail_if(stale, "the pinned spec now has these: drop them from NEWER_THAN_SPEC")
    used = {(r.get("Type"), p) for r in template()["Resources"].values()
            for p in r.get("Properties", {})}
    fail_if(["%s.%s" % k for k in NEWER_THAN_SPEC if k not in used],
            "NEWER_THAN_SPEC entries the template no longer uses")


def test_template_checker_rejects_unknown_and_missing_properties():
    broken = copy.deepcopy(template())
    fn = broken["Resources"]["RotationFunction"]["Properties"]
    fn["Handlr"] = fn.pop("Handler")
    fn["LoggingConfig"]["LogFormatt"] = "JSON"
    fn["MemorySize"] = "lots"
    perm = broken["Resources"]["RotationFunctionInvokePermission"]["Properties"]
    del perm["Principal"]
    role = broken["Resources"]["RotationFunctionRole"]["Properties"]
    role["Policies"][0]["PolicyNme"] = role["Policies"][0].pop("PolicyName")
    problems = "\n".join(resource_problems(broken))
    for needle in ("RotationFunction.Properties.Handlr: no such property",
                   "LoggingConfig.LogFormatt: not a property",
                   "MemorySize: 'lots' is not a Integer",
                   "required property Principal missing",
                   "Policies[0]"):
        smtest.assert_in(needle, problems, "checker output for a broken template")


def test_template_references_are_defined():
    fail_if(reference_problems(template()), "undefined references")


def test_template_checker_rejects_undefined_references():
    broken = copy.deepcopy(template())
    res = broken["Resources"]
    res["RotationFunction"]["Properties"]["Handler"] = {"Ref": "strategy"}
    res["RotationSchedule"]["Condition"] = "AttachScheduel"
    res["RotationSchedule"]["Properties"]["RotationLambdaARN"] = {
        "Fn::GetAtt": ["RotationFunction", "Arnn"]}
    res["RotationLogGroup"]["Properties"]["LogGroupName"] = {"Fn::Sub": "/aws/lambda/${fnName}"}
    problems = "\n".join(reference_problems(broken))
    for needle in ("Ref to undefined 'strategy'", "'AttachScheduel' is not defined",
                   "has no attribute 'Arnn'", "Ref to undefined 'fnName'"):
        smtest.assert_in(needle, problems, "checker output for a broken template")


def test_template_every_parameter_and_condition_is_used():
    tmpl = template()
    used = used_names(tmpl)
    fail_if(sorted(set(tmpl["Parameters"]) - used), "parameters nothing uses")
    fail_if(sorted(set(tmpl.get("Conditions", {})) - used), "conditions nothing uses")


# The function's ARN wherever the template names it: the resource of the chosen architecture
# (tests/template/check_template_deploy.py checks the two are the same function).
FUNCTION_ARN = {"Fn::If": ["OnArm64", {"Fn::GetAtt": ["RotationFunctionArm64", "Arn"]},
                           {"Fn::GetAtt": ["RotationFunction", "Arn"]}]}


def function_properties():
    """The x86_64 function's properties (the arm64 one differs only in CodeUri and Condition)."""
    functions = {k: r for k, r in template()["Resources"].items()
                 if r["Type"] == "AWS::Serverless::Function"}
    smtest.assert_eq(sorted(functions), ["RotationFunction", "RotationFunctionArm64"],
                     "AWS::Serverless::Function resources (one per architecture)")
    return functions["RotationFunction"]["Properties"]


def test_template_function_runs_bootstrap_on_provided_al2023():
    tmpl = template()
    fn = function_properties()
    smtest.assert_eq(fn["Runtime"], "provided.al2023", "Runtime")
    smtest.assert_eq(fn["MemorySize"], 128, "MemorySize")
    smtest.assert_eq(fn["Architectures"], [{"Ref": "architecture"}], "Architectures")
    smtest.assert_eq(sorted(tmpl["Parameters"]["architecture"]["AllowedValues"]),
                     ["arm64", "x86_64"], "architecture AllowedValues")
    timeout = fn["Timeout"]
    if isinstance(timeout, dict):
        p = tmpl["Parameters"][timeout["Ref"]]
        if p.get("MinValue", 0) < 30 or p.get("Default", 0) < 30:
            raise AssertionError("Timeout parameter must not allow less than 30 s")
    elif timeout < 30:
        raise AssertionError("Timeout %r < 30" % timeout)
    smtest.assert_eq(fn["LoggingConfig"]["LogFormat"], "JSON", "LoggingConfig.LogFormat")
    smtest.assert_eq(fn["LoggingConfig"]["ApplicationLogLevel"], {"Ref": "logLevel"},
                     "ApplicationLogLevel")
    if not str(fn["CodeUri"]).endswith(".zip"):
        raise AssertionError("CodeUri must be the packaged zip, got %r" % fn["CodeUri"])
    # VpcConfig only when both subnet and security group parameters are given.
    vpc = fn["VpcConfig"]
    smtest.assert_eq(intrinsic(vpc), "Fn::If", "VpcConfig is conditional")
    smtest.assert_eq(vpc["Fn::If"][2], {"Ref": "AWS::NoValue"}, "VpcConfig without a VPC")
    cond = json.dumps(tmpl["Conditions"][vpc["Fn::If"][0]])
    for p in ("vpcSubnetIds", "vpcSecurityGroupIds"):
        smtest.assert_in('"Ref": "%s"' % p, cond, "VPC condition")


def test_template_handler_values_match_code_strategies():
    tmpl = template()
    fn = function_properties()
    smtest.assert_eq(fn["Handler"], {"Ref": "rotationStrategy"}, "Handler")
    param = tmpl["Parameters"]["rotationStrategy"]
    offered = set(param["AllowedValues"])
    in_code = handler_names_in_code()
    if not in_code:
        raise AssertionError("no strategy names (\"<x>-user(s)\" literals) found in bootstrap/ or "
                             "rotators/: has the strategy table moved?")
    print("strategy names in the code: %s" % {k: v for k, v in sorted(in_code.items())})
    fail_if(sorted(offered - set(in_code)), "AllowedValues the code does not accept")
    canonical = {HANDLER_ALIASES.get(n, n) for n in in_code}
    fail_if(sorted(canonical - offered),
            "strategies the code accepts that the template does not offer (or add the name to "
            "HANDLER_ALIASES)")
    smtest.assert_eq(param["Default"], "single-user", "default strategy (code: empty = single-user)")
    smtest.assert_in("auto", offered, "Handler auto (per secret) offered")


def test_template_env_vars_are_read_by_code():
    env = function_properties()["Environment"]["Variables"]
    read, wrappers = env_vars_read_by_code()
    missing = sorted(set(env) - set(read))
    fail_if(missing, "the template sets variables no C source reads (looked for getenv(\"X\") "
                     "and calls of %s)" % sorted(wrappers))
    for name in sorted(env):
        print("%s read in %s" % (name, read[name]))


def test_template_env_check_finds_wrapper_reads():
    # The detector must see both direct getenv("X") and helper("X", ...) reads, and not count a
    # name that only appears in a comment.
    code = ('static long env_long(const char *name, long d) {\n'
            '    const char *v = getenv(name);\n    return v ? 1 : d;\n}\n'
            'int f(void) { /* getenv("IN_COMMENT") */ return env_long("VIA_WRAPPER", 3) +\n'
            '    (getenv("DIRECT") != NULL); }\n'
            'static const char *const vars[] = {"IN_TABLE_A", "IN_TABLE_B"};\n'
            'static const char *const unused[] = {"NOT_READ"};\n'
            'void g(void) { for (int i = 0; i < 2; i++) (void)getenv(vars[i]); }\n')
    global c_sources
    saved = c_sources
    c_sources = lambda: [("rotators/x.c", code)]  # noqa: E731
    try:
        names, wrappers = env_vars_read_by_code()
    finally:
        c_sources = saved
    smtest.assert_in("env_long", wrappers, "wrapper detection")
    smtest.assert_eq(sorted(names), ["DIRECT", "IN_TABLE_A", "IN_TABLE_B", "VIA_WRAPPER"],
                     "names read")


def role_statements(tmpl=None):
    """[(statement, condition name or None)] of every policy of every IAM role in the template."""
    out = []
    for res in (tmpl or template())["Resources"].values():
        if res["Type"] != "AWS::IAM::Role":
            continue
        props = res["Properties"]
        if props.get("ManagedPolicyArns"):
            raise AssertionError("managed policies hide their actions from this check: %r" %
                                 props["ManagedPolicyArns"])
        for policy in props.get("Policies", []):
            for st in policy["PolicyDocument"]["Statement"]:
                if intrinsic(st) == "Fn::If":
                    cond, yes, no = st["Fn::If"]
                    smtest.assert_eq(no, {"Ref": "AWS::NoValue"}, "else-branch of a statement")
                    out.append((yes, cond))
                else:
                    out.append((st, None))
    return out


def as_list(v):
    return v if isinstance(v, list) else [v]


def test_template_iam_actions_are_least_privilege():
    statements = role_statements()
    got = {}
    problems = []
    for st, cond in statements:
        sid = st.get("Sid")
        smtest.assert_eq(st.get("Effect"), "Allow", "Effect of %s" % sid)
        if "NotAction" in st or "NotResource" in st:
            problems.append("%s: NotAction/NotResource" % sid)
        actions = set(as_list(st["Action"]))
        if any("*" in a for a in actions):
            problems.append("%s: wildcard action %s" % (sid, sorted(actions)))
        got[sid] = actions
        if EXPECTED_STATEMENT_CONDITIONS.get(sid) != cond:
            problems.append("%s: exists under condition %r, expected %r" %
                            (sid, cond, EXPECTED_STATEMENT_CONDITIONS.get(sid)))
        if st.get("Resource") == "*" and sid not in WILDCARD_RESOURCE_OK:
            problems.append("%s: Resource '*'" % sid)
    fail_if(problems, "IAM statements")
    smtest.assert_eq({k: sorted(v) for k, v in got.items()},
                     {k: sorted(v) for k, v in EXPECTED_STATEMENTS.items()}, "IAM statements")
    # The secret statement is scoped to secrets that name this function as their rotation
    # function, whatever the ARN pattern.
    secret_st = [st for st, _ in statements if st["Sid"] == "RotateSecretsThatNameThisFunction"][0]
    allow = secret_st["Condition"]["StringEquals"]["secretsmanager:resource/AllowRotationLambdaArn"]
    smtest.assert_in("function:${functionName}", allow.get("Fn::Sub", ""), "AllowRotationLambdaArn")
    for st, _ in statements:
        if st["Sid"] in ("UseSecretsKey", "UseMasterSecretKey"):
            smtest.assert_in("kms:ViaService", st["Condition"]["StringEquals"], st["Sid"])


def condition_value(tmpl, name, **given):
    """A condition of tmpl, evaluated for these parameter values (the rest defaults)."""
    values = {k: p.get("Default", "") for k, p in tmpl["Parameters"].items()}
    values.update(given)
    return rule_value(tmpl["Conditions"][name], values)


def rds_grant_problems(tmpl):
    """What is wrong with the grants an RDS-managed master or a replica needs, in tmpl."""
    problems = []
    statements = {st["Sid"]: (st, cond) for st, cond in role_statements(tmpl)}
    if "DescribeRdsDatabases" not in statements:
        return ["no DescribeRdsDatabases statement"]
    # RDS: both Describe actions the code calls, on the account's instances and clusters.
    st, cond = statements["DescribeRdsDatabases"]
    if st.get("Resource") != RDS_RESOURCES:
        problems.append("DescribeRdsDatabases resources: %r, expected %r"
                        % (st.get("Resource"), RDS_RESOURCES))
    missing = sorted(set(rds_permissions_in_code()) - set(as_list(st.get("Action", []))))
    if missing:
        problems.append("RDS permissions the code needs, not granted: %s" % missing)
    # Granted exactly when a rotation can call RDS: alternating users, by name or per secret.
    for strategy, expected in (("single-user", False), ("multi-user", True), ("auto", True)):
        if cond is None or condition_value(tmpl, cond, rotationStrategy=strategy) != expected:
            problems.append("DescribeRdsDatabases %s with rotationStrategy=%s"
                            % ("missing" if expected else "granted", strategy))
    # The master secret: its value and its tags (DescribeSecret), and its customer managed key.
    st, cond = statements.get("ReadMasterSecret", ({}, None))
    if sorted(as_list(st.get("Action", []))) != ["secretsmanager:DescribeSecret",
                                                 "secretsmanager:GetSecretValue"]:
        problems.append("ReadMasterSecret actions: %r" % st.get("Action"))
    if st.get("Resource") != {"Fn::Split": [",", {"Ref": "masterSecretArn"}]}:
        problems.append("ReadMasterSecret resource: %r" % st.get("Resource"))
    st, cond = statements.get("UseMasterSecretKey", ({}, None))
    if as_list(st.get("Action", [])) != ["kms:Decrypt"] or \
            st.get("Resource") != {"Ref": "masterSecretKmsKeyArn"}:
        problems.append("UseMasterSecretKey: %r on %r" % (st.get("Action"), st.get("Resource")))
    elif not (condition_value(tmpl, cond, masterSecretKmsKeyArn="arn:aws:kms:us-east-1:1:key/k")
              and not condition_value(tmpl, cond)):
        problems.append("UseMasterSecretKey is not conditional on masterSecretKmsKeyArn")
    return problems


def test_template_grants_what_rds_managed_masters_and_replicas_need():
    in_code = rds_permissions_in_code()
    print("RDS permissions the code names: %s" % in_code)
    smtest.assert_eq(sorted(in_code), sorted(EXPECTED_STATEMENTS["DescribeRdsDatabases"]),
                     "RDS permissions the code names in its AccessDenied messages")
    fail_if(rds_grant_problems(template()), "grants for RDS-managed masters and replicas")


def test_template_checker_rejects_wrong_rds_grants():
    broken = copy.deepcopy(template())
    statements = broken["Resources"]["RotationFunctionRole"]["Properties"]["Policies"][0][
        "PolicyDocument"]["Statement"]
    for st in statements:
        if intrinsic(st) == "Fn::If":
            cond, yes, _ = st["Fn::If"]
            if yes.get("Sid") == "DescribeRdsDatabases":
                yes["Resource"] = "*"
                yes["Action"] = ["rds:DescribeDBInstances"]
                st["Fn::If"][0] = "HasMasterSecret"
            elif yes.get("Sid") == "ReadMasterSecret":
                yes["Action"] = "secretsmanager:GetSecretValue"
    problems = "\n".join(rds_grant_problems(broken))
    for needle in ("DescribeRdsDatabases resources: '*'",
                   "not granted: ['rds:DescribeDBClusters']",
                   "DescribeRdsDatabases missing with rotationStrategy=auto",
                   "ReadMasterSecret actions"):
        smtest.assert_in(needle, problems, "checker output for wrong RDS grants")


def test_template_permission_allows_secretsmanager_from_own_account():
    tmpl = template()
    perms = [r["Properties"] for r in tmpl["Resources"].values()
             if r["Type"] == "AWS::Lambda::Permission"]
    smtest.assert_eq(len(perms), 1, "number of Lambda permissions")
    p = perms[0]
    smtest.assert_eq(p["Action"], "lambda:InvokeFunction", "Action")
    smtest.assert_eq(p.get("SourceAccount"), {"Ref": "AWS::AccountId"}, "SourceAccount")
    principal = p["Principal"]
    if isinstance(principal, dict):
        principal = tmpl["Parameters"][principal["Ref"]]["Default"]
    smtest.assert_eq(principal, "secretsmanager.amazonaws.com", "Principal (default)")
    smtest.assert_eq(p["FunctionName"], FUNCTION_ARN, "FunctionName")


def test_template_rotation_schedule_is_optional_and_waits_for_permission():
    tmpl = template()
    res = tmpl["Resources"]["RotationSchedule"]
    smtest.assert_eq(res["Type"], "AWS::SecretsManager::RotationSchedule", "Type")
    smtest.assert_in("Condition", res, "RotationSchedule is conditional")
    smtest.assert_in("RotationFunctionInvokePermission", as_list(res.get("DependsOn", [])),
                     "DependsOn")
    props = res["Properties"]
    smtest.assert_eq(props["RotationLambdaARN"], FUNCTION_ARN, "RotationLambdaARN")
    rules = props["RotationRules"]
    expr, days = rules["ScheduleExpression"], rules["AutomaticallyAfterDays"]
    # Exactly one of ScheduleExpression / AutomaticallyAfterDays, chosen by the same condition.
    smtest.assert_eq(expr["Fn::If"][0], days["Fn::If"][0], "schedule condition")
    smtest.assert_eq(expr["Fn::If"][2], {"Ref": "AWS::NoValue"}, "ScheduleExpression else")
    smtest.assert_eq(days["Fn::If"][1], {"Ref": "AWS::NoValue"}, "AutomaticallyAfterDays then")
    smtest.assert_in("Duration", rules, "RotationRules.Duration")
    smtest.assert_in("RotateImmediatelyOnUpdate", props, "RotateImmediatelyOnUpdate")


def test_template_outputs_function_and_role_arns():
    outputs = template()["Outputs"]
    values = [o["Value"] for o in outputs.values()]
    smtest.assert_in(FUNCTION_ARN, values, "Outputs")
    smtest.assert_in({"Fn::GetAtt": ["RotationFunctionRole", "Arn"]}, values, "Outputs")



def test_template_outputs_rotation_lambda_arn_for_cdk():
    # AWS's rotation applications output the function's ARN as RotationLambdaARN; CDK's
    # SecretRotation (and anything written against those applications) reads that name.
    out = template()["Outputs"].get("RotationLambdaARN")
    if out is None:
        raise AssertionError("no RotationLambdaARN output: %s" % sorted(template()["Outputs"]))
    smtest.assert_eq(out["Value"], FUNCTION_ARN, "RotationLambdaARN's value")


# ----- Rules ---------------------------------------------------------------------------------

# Functions CloudFormation allows in Rules (RuleCondition and Assert).
RULE_FUNCTIONS = {"Fn::And", "Fn::Contains", "Fn::EachMemberEquals", "Fn::EachMemberIn",
                  "Fn::Equals", "Fn::Not", "Fn::Or", "Fn::RefAll", "Fn::ValueOf",
                  "Fn::ValueOfAll", "Ref"}


def rule_problems(tmpl):
    problems = []
    params = set(tmpl.get("Parameters", {}))
    for name, rule in tmpl.get("Rules", {}).items():
        path = "Rules.%s" % name
        extra = set(rule) - {"RuleCondition", "Assertions"}
        if extra:
            problems.append("%s: unknown keys %s" % (path, sorted(extra)))
        assertions = rule.get("Assertions")
        if not isinstance(assertions, list) or not assertions:
            problems.append("%s: Assertions must be a non-empty list" % path)
            assertions = []
        for i, a in enumerate(assertions):
            if not isinstance(a, dict) or "Assert" not in a:
                problems.append("%s.Assertions[%d]: no Assert" % (path, i))
                continue
            if set(a) - {"Assert", "AssertDescription"}:
                problems.append("%s.Assertions[%d]: unknown keys" % (path, i))
            if not a.get("AssertDescription"):
                problems.append("%s.Assertions[%d]: no AssertDescription (the operator sees it)"
                                % (path, i))
        for where, node in walk(rule, path):
            if isinstance(node, dict) and len(node) == 1:
                key = next(iter(node))
                if key.startswith("Fn::") or key == "Ref" or key == "Condition":
                    if key not in RULE_FUNCTIONS:
                        problems.append("%s: %s is not allowed in Rules" % (where, key))
                    elif key == "Ref" and node["Ref"] not in params:
                        problems.append("%s: Rules may only Ref parameters, not %r" %
                                        (where, node["Ref"]))
    return problems


def rule_value(node, values):
    """Evaluates a rule expression against parameter values (the subset of rule functions the
    template uses: Ref, Equals, Not, And, Or, Contains)."""
    fn = intrinsic(node)
    if fn is None:
        return node
    arg = node[fn]
    if fn == "Ref":
        return values[arg]
    if fn == "Fn::Equals":
        a, b = (rule_value(x, values) for x in arg)
        return str(a) == str(b)
    if fn == "Fn::Not":
        return not rule_value(arg[0], values)
    if fn == "Fn::And":
        return all(rule_value(x, values) for x in arg)
    if fn == "Fn::Or":
        return any(rule_value(x, values) for x in arg)
    if fn == "Fn::Contains":
        return str(rule_value(arg[1], values)) in [str(rule_value(x, values)) for x in arg[0]]
    raise AssertionError("rule function %s: not evaluated by this check" % fn)


def failed_rules(**given):
    """Names of the rules that reject a deployment with these parameter values (the rest from
    the defaults), as CloudFormation evaluates them before creating anything."""
    tmpl = template()
    values = {k: p.get("Default", "") for k, p in tmpl["Parameters"].items()}
    values.update(given)
    failed = []
    for name, rule in tmpl.get("Rules", {}).items():
        if "RuleCondition" in rule and not rule_value(rule["RuleCondition"], values):
            continue
        if not all(rule_value(a["Assert"], values) for a in rule["Assertions"]):
            failed.append(name)
    return sorted(failed)


def test_template_rules_are_well_formed():
    fail_if(rule_problems(template()), "Rules")
    smtest.assert_eq(sorted(template().get("Rules", {})),
                     ["MultiUserNeedsMasterSecret", "SubnetsNeedSecurityGroups"], "rules")


def test_template_checker_rejects_broken_rules():
    broken = copy.deepcopy(template())
    rules = broken["Rules"]
    rules["SubnetsNeedSecurityGroups"]["Assertions"][0]["Assert"] = {
        "Fn::If": ["InVpc", True, False]}
    rules["MultiUserNeedsMasterSecret"]["RuleCondition"] = {
        "Fn::Equals": [{"Ref": "RotationFunction"}, "x"]}
    rules["Empty"] = {"Assertions": []}
    problems = "\n".join(rule_problems(broken))
    for needle in ("Fn::If is not allowed in Rules", "may only Ref parameters, not 'RotationFunction'",
                   "Rules.Empty: Assertions must be a non-empty list"):
        smtest.assert_in(needle, problems, "checker output for broken rules")


def test_template_rules_reject_subnets_without_security_groups():
    smtest.assert_eq(failed_rules(), [], "defaults (no VPC)")
    smtest.assert_eq(failed_rules(vpcSubnetIds="subnet-a,subnet-b"),
                     ["SubnetsNeedSecurityGroups"], "subnets without security groups")
    smtest.assert_eq(failed_rules(vpcSubnetIds="subnet-a", vpcSecurityGroupIds="sg-1"), [],
                     "subnets with security groups")
    # The rule and the InVpc condition agree: whenever the rule passes with subnets, the
    # function is placed in the VPC.
    cond = template()["Conditions"]["InVpc"]
    smtest.assert_eq(rule_value(cond, {"vpcSubnetIds": "subnet-a", "vpcSecurityGroupIds": "sg-1"}),
                     True, "InVpc with both")


def test_template_rules_reject_multi_user_without_master_secret():
    smtest.assert_eq(failed_rules(rotationStrategy="multi-user"), ["MultiUserNeedsMasterSecret"],
                     "multi-user without masterSecretArn")
    smtest.assert_eq(failed_rules(rotationStrategy="multi-user",
                                  masterSecretArn="arn:aws:secretsmanager:us-east-1:1:secret:m"),
                     [], "multi-user with masterSecretArn")
    smtest.assert_eq(failed_rules(rotationStrategy="single-user-via-master"),
                     ["MultiUserNeedsMasterSecret"], "single-user-via-master without it")
    smtest.assert_eq(failed_rules(rotationStrategy="single-user"), [], "single-user without it")
    # auto rotates single-user secrets without one; its alternating secrets need it to read
    # their master (their error then names the secret and the permission).
    smtest.assert_eq(failed_rules(rotationStrategy="auto"), [], "auto without it")


def test_template_alarm_watches_the_functions_failed_steps():
    """The optional alarm reads the metric bootstrap writes (bootstrap/function.c: namespace,
    metric name and the FunctionName dimension) and notifies the topic given."""
    alarm = template()["Resources"]["FailedStepAlarm"]
    smtest.assert_eq(alarm["Condition"], "HasAlarmTopic", "only with a topic")
    props = alarm["Properties"]
    code = open(os.path.join(source_dir(), "bootstrap", "function.c")).read() + \
        open(os.path.join(source_dir(), "bootstrap", "function.h")).read()
    for literal in ('"%s"' % props["Namespace"], '"%s"' % props["MetricName"],
                    '"%s"' % props["Dimensions"][0]["Name"]):
        smtest.assert_in(literal, code, "the metric as bootstrap writes it")
    smtest.assert_eq(props["Dimensions"][0]["Value"], {"Ref": "functionName"}, "this function")
    smtest.assert_eq(props["AlarmActions"], [{"Ref": "alarmTopicArn"}], "the topic")
    smtest.assert_eq((props["Statistic"], props["Threshold"], props["ComparisonOperator"]),
                     ("Sum", 1, "GreaterThanOrEqualToThreshold"), "one failed step alarms")


if __name__ == "__main__":
    smtest.run(globals())
