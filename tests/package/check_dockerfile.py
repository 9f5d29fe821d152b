"""Checks of docker/Dockerfile that need no Docker engine (none runs here): it runs the recipe CI
runs, verifies with docker/verify.sh in provided.al2023 without tools that image may lack, exports
the zips under the names the native build writes, and README's commands name the platform and
write where template.yaml's CodeUri looks. check_package.py runs docker/verify.sh itself natively.

Each `def test_<name>(` is one ctest (tests/package.cmake), in every build tree.
"""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import smtest  # noqa: E402

# Tools docker/verify.sh must not run: absent from provided.al2023 (find) or not relied on.
NOT_IN_AL2023 = ("find", "grep", "egrep", "unzip", "ldd", "file", "which", "awk", "sed", "xargs")


def source(*parts):
    with open(os.path.join(smtest.env("SMR_SOURCE_DIR"), *parts), encoding="utf-8") as f:
        return f.read()


def instructions(dockerfile):
    """[(stage name or None, INSTRUCTION, arguments)] with continuation lines joined."""
    text = re.sub(r"\\\n", " ", dockerfile)
    out, stage = [], None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        word = word.upper()
        if word == "FROM":
            m = re.search(r"\bAS\s+(\S+)", rest, re.I)
            stage = m.group(1) if m else None
        out.append((stage, word, rest.strip()))
    return out


def test_package_dockerfile_runs_the_recipe_ci_runs():
    ins = instructions(source("docker", "Dockerfile"))
    build = " ; ".join(rest for stage, word, rest in ins if stage == "build" and word == "RUN")
    for needle in ("cmake/deps.sh prepare", "cmake/deps.sh build", "-DSM_STATIC_DEPS=ON",
                   "--target lambda-zip", "-DSM_RDS_CA_BUNDLE="):
        smtest.assert_in(needle, build, "the build stage's RUN lines")
    froms = [rest for _, word, rest in ins if word == "FROM"]
    smtest.assert_eq(len(froms), 3, "stages (build, verify, export)")
    args = dict(re.findall(r"^ARG (\w+)=(\S+)", source("docker", "Dockerfile"), re.M))
    smtest.assert_in("debian:bookworm", args.get("DEBIAN_IMAGE", ""), "the builder is Debian 12")
    smtest.assert_eq(args.get("LAMBDA_IMAGE"), "public.ecr.aws/lambda/provided:al2023",
                     "the verify stage runs in provided.al2023")
    smtest.assert_in("${DEBIAN_IMAGE} AS build", froms[0], "first stage")
    smtest.assert_in("${LAMBDA_IMAGE} AS verify", froms[1], "second stage")
    smtest.assert_in("scratch AS export", froms[2], "third stage")
    # CI (tests/run.sh) builds the package the same way.
    run_sh = source("tests", "run.sh")
    for needle in ("-DSM_STATIC_DEPS=ON", "lambda-zip"):
        smtest.assert_in(needle, run_sh, "tests/run.sh")
    stages = {s for s, w, _ in ins if w == "FROM"}
    for stage, word, rest in ins:
        m = re.match(r"--from=(\S+)", rest)
        if word == "COPY" and m and m.group(1) not in stages:
            raise AssertionError("COPY --from=%s: no such stage" % m.group(1))


def test_package_dockerfile_verify_stage_needs_only_sh_and_env():
    ins = instructions(source("docker", "Dockerfile"))
    runs = [rest for stage, word, rest in ins if stage == "verify" and word == "RUN"]
    smtest.assert_eq(runs, ["sh /tmp/verify.sh /var/task > /tmp/verified.txt"], "verify stage")
    copies = [rest for stage, word, rest in ins if stage == "verify" and word == "COPY"]
    smtest.assert_in("docker/verify.sh /tmp/verify.sh", copies, "verify stage copies the script")
    script = source("docker", "verify.sh")
    code = "\n".join(re.sub(r"#.*", "", line) for line in script.splitlines()
                     if not line.lstrip().startswith("#"))
    for tool in NOT_IN_AL2023:
        if re.search(r"(^|[\s;|&(])%s(\s|$)" % tool, code, re.M):
            raise AssertionError("docker/verify.sh runs %s, which provided.al2023 may lack" % tool)


def test_package_zip_names_carry_the_architecture_and_match_template():
    tmpl = source("template.yaml")
    code_uri = re.search(r"^\s*CodeUri:\s*(\S+)", tmpl, re.M).group(1)
    smtest.assert_eq(code_uri, "build-package/smrotate-lambda-x86_64.zip",
                     "CodeUri: the native build-package tree's x86_64 zip")
    pkg = source("cmake", "package.cmake")
    smtest.assert_in("smrotate-lambda-${SM_LAMBDA_ARCH}.zip", pkg, "the lambda-zip output name")
    readme = source("README.md")
    docker = [c for c in re.findall(r"docker build[^\n`]*", readme)]
    if not docker:
        raise AssertionError("README shows no docker build command")
    for cmd in docker:
        if not re.search(r"--platform linux/(amd64|arm64)", cmd):
            raise AssertionError("README: docker build without an explicit --platform: %s" % cmd)
        if "dest=build-package" not in cmd:
            raise AssertionError("README: docker build must write where CodeUri looks: %s" % cmd)
    for cmd in re.findall(r"docker build[^\n]*", source("docker", "Dockerfile")):
        if not re.search(r"--platform linux/(amd64|arm64)", cmd):
            raise AssertionError("Dockerfile: docker build without --platform: %s" % cmd)
    smtest.assert_in("cmake -S . -B build-package -DSM_STATIC_DEPS=ON", readme,
                     "README's native package build")
    smtest.assert_in("rotationScheduleExpression=\"rate(30 days)\"'", readme,
                     "README's sam deploy quotes the schedule for --parameter-overrides")


if __name__ == "__main__":
    smtest.run(globals())
