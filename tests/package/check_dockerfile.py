"""Checks of docker/Dockerfile that need no Docker engine (none runs here): it runs the recipe CI
runs, cross-builds on the builder's own platform (BUILDPLATFORM, TARGETARCH, the toolchain files),
pins its base images by digest and the RDS CA bundle by checksum, copies the lock and the recipe
before the dependency layers, verifies with docker/verify.sh in provided.al2023 without tools that
image may lack, exports the zips under the names the native build writes, and README's commands
name the platform and write where template.yaml's functions look. check_package.py runs
docker/verify.sh itself natively.

Each `def test_<name>(` is one ctest (tests/package.cmake), in every build tree.
"""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import smtest  # noqa: E402

# docker build --platform -> the zip's architecture and where README's command writes it (the
# directory template.yaml's function of that architecture reads).
PLATFORMS = {"linux/amd64": ("x86_64", "build-package"), "linux/arm64": ("arm64", "build-package-arm64")}
DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
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


def stage_lines(stage, word=None):
    return [(w, rest) for st, w, rest in instructions(source("docker", "Dockerfile"))
            if st == stage and (word is None or w == word)]


def test_package_dockerfile_runs_the_recipe_ci_runs():
    ins = instructions(source("docker", "Dockerfile"))
    build = " ; ".join(rest for _, rest in stage_lines("build", "RUN"))
    for needle in ('cmake/deps.sh prepare "$TARGETARCH"', 'cmake/deps.sh build /build/deps "$TARGETARCH"',
                   "-DSM_STATIC_DEPS=ON", "-DSM_DEPS_DIR=/build/deps", "--target lambda-zip",
                   "-DSM_RDS_CA_BUNDLE="):
        smtest.assert_in(needle, build, "the build stage's RUN lines")
    froms = [rest for _, word, rest in ins if word == "FROM"]
    smtest.assert_eq(len(froms), 3, "stages (build, verify, export)")
    args = dict(re.findall(r"^ARG (\w+)=(\S+)", source("docker", "Dockerfile"), re.M))
    smtest.assert_in("/debian:bookworm@", args.get("DEBIAN_IMAGE", ""), "the builder is Debian 12")
    smtest.assert_eq(args.get("LAMBDA_IMAGE", "").split("@")[0],
                     "public.ecr.aws/lambda/provided:al2023", "the verify stage's image")
    smtest.assert_in("${DEBIAN_IMAGE} AS build", froms[0], "first stage")
    smtest.assert_in("${LAMBDA_IMAGE} AS verify", froms[1], "second stage")
    smtest.assert_in("scratch AS export", froms[2], "third stage")
    # CI (tests/run.sh) builds the packages the same way, both architectures.
    run_sh = source("tests", "run.sh")
    for needle in ("-DSM_STATIC_DEPS=ON", "lambda-zip", "cmake/toolchain-arm64.cmake"):
        smtest.assert_in(needle, run_sh, "tests/run.sh")
    stages = {s for s, w, _ in ins if w == "FROM"}
    for stage, word, rest in ins:
        m = re.match(r"--from=(\S+)", rest)
        if word == "COPY" and m and m.group(1) not in stages:
            raise AssertionError("COPY --from=%s: no such stage" % m.group(1))


def test_package_dockerfile_cross_builds_on_the_build_platform():
    ins = instructions(source("docker", "Dockerfile"))
    froms = {stage: rest for stage, word, rest in ins if word == "FROM"}
    smtest.assert_eq(froms["build"].split()[0], "--platform=$BUILDPLATFORM",
                     "the build stage runs natively on the builder")
    if "--platform" in froms["verify"]:
        raise AssertionError("the verify stage must run on the target platform: %s" % froms["verify"])
    smtest.assert_in(("ARG", "TARGETARCH"), stage_lines("build", "ARG"), "build stage ARGs")
    build = " ".join(rest for _, rest in stage_lines("build", "RUN"))
    smtest.assert_in("-DCMAKE_TOOLCHAIN_FILE=/src/cmake/toolchain-$arch.cmake", build,
                     "the toolchain of the target architecture when it is not the builder's")
    for arch, cpu in (("x86_64", "x86_64"), ("arm64", "aarch64")):
        text = source("cmake", "toolchain-%s.cmake" % arch)
        smtest.assert_in("set(CMAKE_SYSTEM_PROCESSOR %s)" % cpu, text, "toolchain-%s.cmake" % arch)
        smtest.assert_in("include(${CMAKE_CURRENT_LIST_DIR}/toolchain-cross.cmake)", text,
                         "toolchain-%s.cmake" % arch)
    smtest.assert_in("set(CMAKE_C_COMPILER ${sm_cross_triplet}-gcc)",
                     source("cmake", "toolchain-cross.cmake"), "Debian's cross compiler")


def test_package_dockerfile_pins_images_and_the_rds_bundle():
    text = source("docker", "Dockerfile")
    args = dict(re.findall(r"^ARG (\w+)=(\S+)", text, re.M))
    for name in ("DEBIAN_IMAGE", "LAMBDA_IMAGE"):
        if not DIGEST.search(args.get(name, "")):
            raise AssertionError("%s is not pinned by digest: %r" % (name, args.get(name)))
    for stage, word, rest in instructions(text):
        if word == "FROM" and not re.match(r"(--platform=\S+ )?(\$\{\w+\}|scratch) AS ", rest):
            raise AssertionError("FROM %s: an image not pinned through a digest ARG" % rest)
        if word == "ADD" and re.search(r"https?://", rest) and \
                not re.match(r"--checksum=sha256:[0-9a-f]{64}\s+https://", rest):
            raise AssertionError("ADD %s: a download without its SHA-256" % rest)
    smtest.assert_in("https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem", text,
                     "the RDS CA bundle's URL")


def test_package_dockerfile_copies_the_lock_before_the_dependency_layer():
    lines = stage_lines("build")
    words = [(w, r) for w, r in lines]
    first_copy = next(i for i, (w, _) in enumerate(words) if w == "COPY")
    smtest.assert_eq(sorted(words[first_copy][1].split()[:-1]),
                     ["cmake/deps-recipe.sh", "cmake/deps.lock", "cmake/deps.sh",
                      "cmake/toolchain-*.cmake"], "what the dependency layers are built from")
    deps = next(i for i, (w, r) in enumerate(words) if w == "RUN" and "deps.sh build" in r)
    everything = next(i for i, (w, r) in enumerate(words) if w == "COPY" and r.startswith(". "))
    if not first_copy < deps < everything:
        raise AssertionError("the lock and recipe must be copied before the dependency build, "
                             "the source tree after it: %s" % words)


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
    uris = re.findall(r"^\s*CodeUri:\s*(\S+)", source("template.yaml"), re.M)
    smtest.assert_eq(sorted(uris), sorted("%s/smrotate-lambda-%s.zip" % (d, a)
                                          for a, d in PLATFORMS.values()),
                     "template.yaml's CodeUris: the zips README's builds write")
    pkg = source("cmake", "package.cmake")
    smtest.assert_in("smrotate-lambda-${SM_LAMBDA_ARCH}.zip", pkg, "the lambda-zip output name")
    readme = source("README.md")
    docker = re.findall(r"docker build [^\n`]*", readme)
    smtest.assert_eq(len(docker), 2, "README's docker build commands (one per architecture)")
    for cmd in docker + re.findall(r"docker build [^\n]*", source("docker", "Dockerfile")):
        m = re.search(r"--platform (linux/(?:amd64|arm64))", cmd)
        if not m:
            raise AssertionError("docker build without an explicit --platform: %s" % cmd)
        if "dest=%s " % PLATFORMS[m.group(1)][1] not in cmd + " ":
            raise AssertionError("docker build must write where template.yaml looks (%s): %s"
                                 % (PLATFORMS[m.group(1)][1], cmd))
    for native in ("cmake -S . -B build-package -DSM_STATIC_DEPS=ON",
                   "cmake -S . -B build-package-arm64 -DSM_STATIC_DEPS=ON",
                   "-DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-arm64.cmake"):
        smtest.assert_in(native, readme, "README's native package builds")
    smtest.assert_in("rotationScheduleExpression=\"rate(30 days)\"'", readme,
                     "README's sam deploy quotes the schedule for --parameter-overrides")


if __name__ == "__main__":
    smtest.run(globals())
