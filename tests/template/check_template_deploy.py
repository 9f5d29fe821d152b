"""Checks of template.yaml's deployment details (issue 20): the function of the `architecture`
parameter deploys the zip of that architecture, Lambda's own system log level, an optional log
group, and master secrets given as a list or pattern. The template is loaded and conditions are
evaluated with tests/template/check_template.py's helpers.

Each `def test_<name>(` is one ctest (tests/template.cmake).
"""
import copy
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "lib"))

import smtest  # noqa: E402
from check_template import (FUNCTION_ARN, condition_value, role_statements,  # noqa: E402
                            template, walk)

# Where each architecture's zip is: the native build trees README names (tests/run.sh builds
# both) and the docker build commands' destinations (tests/package/check_dockerfile.py).
ZIPS = {"x86_64": "build-package/smrotate-lambda-x86_64.zip",
        "arm64": "build-package-arm64/smrotate-lambda-arm64.zip"}
PER_ARCHITECTURE = {"CodeUri"}  # the only property the two functions may differ in


def functions(tmpl=None):
    tmpl = tmpl or template()
    return {k: r for k, r in tmpl["Resources"].items() if r["Type"] == "AWS::Serverless::Function"}


def deployed(tmpl, architecture):
    """The function resources that exist for this architecture parameter value."""
    return [k for k, r in functions(tmpl).items()
            if condition_value(tmpl, r["Condition"], architecture=architecture)]


def architecture_problems(tmpl):
    problems = []
    fns = functions(tmpl)
    for arch, zip_path in ZIPS.items():
        names = deployed(tmpl, arch)
        if len(names) != 1:
            problems.append("architecture=%s deploys %s" % (arch, names))
            continue
        uri = fns[names[0]]["Properties"]["CodeUri"]
        if uri != zip_path:
            problems.append("architecture=%s deploys %s, not %s" % (arch, uri, zip_path))
    props = [{k: v for k, v in r["Properties"].items() if k not in PER_ARCHITECTURE}
             for r in fns.values()]
    if any(p != props[0] for p in props):
        problems.append("the functions differ in more than %s" % sorted(PER_ARCHITECTURE))
    # Everything that names the function names the deployed one.
    for path, node in walk({k: v for k, v in tmpl.items() if k != "Resources"} |
                           {"Resources": {k: v for k, v in tmpl["Resources"].items()
                                          if k not in fns}}):
        if isinstance(node, dict) and node.get("Fn::GetAtt", [None])[0] in fns and \
                not path.endswith(("[1]", "[2]")):
            problems.append("%s names one architecture's function" % path)
    return problems


def test_template_deploys_the_zip_of_its_architecture():
    smtest.assert_eq(architecture_problems(template()), [], "architecture problems")
    tmpl = template()
    for arch in ZIPS:
        fn = deployed(tmpl, arch)[0]
        arn = FUNCTION_ARN["Fn::If"]
        chosen = arn[1] if condition_value(tmpl, arn[0], architecture=arch) else arn[2]
        smtest.assert_eq(chosen, {"Fn::GetAtt": [fn, "Arn"]}, "the ARN for %s" % arch)


def test_template_checker_rejects_a_fixed_zip():
    broken = copy.deepcopy(template())
    fns = functions(broken)
    fns["RotationFunctionArm64"]["Properties"]["CodeUri"] = ZIPS["x86_64"]
    fns["RotationFunctionArm64"]["Properties"]["MemorySize"] = 256
    problems = "\n".join(architecture_problems(broken))
    for needle in ("architecture=arm64 deploys build-package/smrotate-lambda-x86_64.zip",
                   "differ in more than"):
        smtest.assert_in(needle, problems, "checker output")


def test_template_keeps_lambdas_system_log_level():
    # SystemLogLevel WARN would hide Lambda's START and REPORT lines (duration, memory used).
    for name, r in functions().items():
        smtest.assert_not_in("SystemLogLevel", r["Properties"]["LoggingConfig"],
                             "%s.LoggingConfig" % name)


def test_template_log_group_is_optional():
    tmpl = template()
    group = tmpl["Resources"]["RotationLogGroup"]
    smtest.assert_eq(condition_value(tmpl, group["Condition"]), True, "created by default")
    smtest.assert_eq(condition_value(tmpl, group["Condition"], createLogGroup="false"), False,
                     "not created with createLogGroup=false (an existing /aws/lambda/<name>)")
    for name, r in functions(tmpl).items():
        smtest.assert_eq(r["Properties"]["LoggingConfig"]["LogGroup"],
                         {"Fn::If": [group["Condition"], {"Ref": "RotationLogGroup"},
                                     {"Ref": "AWS::NoValue"}]}, "%s's log group" % name)
    statements = {st["Sid"]: (st, cond) for st, cond in role_statements(tmpl)}
    write = statements["WriteLogs"][0]["Resource"]
    smtest.assert_eq(write["Fn::If"][:2], [group["Condition"],
                                          {"Fn::GetAtt": ["RotationLogGroup", "Arn"]}],
                     "WriteLogs on the created group")
    smtest.assert_in("log-group:/aws/lambda/${functionName}:*", write["Fn::If"][2]["Fn::Sub"],
                     "WriteLogs on Lambda's group otherwise")
    _, cond = statements["CreateDefaultLogGroup"]
    smtest.assert_eq(condition_value(tmpl, cond, createLogGroup="false"), True,
                     "Lambda may create its group when the template does not")
    out = tmpl["Outputs"]["RotationLogGroupName"]["Value"]
    smtest.assert_eq(out["Fn::If"][0], group["Condition"], "RotationLogGroupName output")


def test_template_master_secrets_are_a_list_of_arns_or_patterns():
    tmpl = template()
    st = {s["Sid"]: s for s, _ in role_statements(tmpl)}["ReadMasterSecret"]
    smtest.assert_eq(st["Resource"], {"Fn::Split": [",", {"Ref": "masterSecretArn"}]},
                     "ReadMasterSecret's resources")
    text = " ".join(tmpl["Parameters"]["masterSecretArn"]["Description"].split())
    for needle in ("separated by commas", "pattern with *", "auto without it rotates only"):
        smtest.assert_in(needle, text, "masterSecretArn's description (what auto needs)")


if __name__ == "__main__":
    smtest.run(globals())
