"""The package's bootstrap honours the egress proxy: the cases of tests/e2e/test_egress_proxy.py
(AWS calls through HTTP_PROXY, HTTPS through HTTPS_PROXY with CONNECT, NO_PROXY, a dead proxy
failing the invocation), run with the packaged bootstrap chrooted into the glibc-only root
(SMR_LAMBDA_ZIP, tests/package/check_package.py's Root) instead of the development build. The
launcher copies the CA files the cases name into the root.

Each `def test_<name>(` is one ctest (tests/package.cmake), in trees configured with
-DSM_STATIC_DEPS=ON.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))

import smtest  # noqa: E402
import test_egress_proxy as egress  # noqa: E402
from check_package import Root  # noqa: E402


def in_root(case):
    with Root(smtest.env("SMR_LAMBDA_ZIP")) as root:
        os.environ["SMR_BOOTSTRAP"] = root.launcher
        case()


def test_package_proxy_http_carries_aws_calls_never_the_runtime_api():
    in_root(egress.test_egress_http_proxy_carries_aws_calls_never_the_runtime_api)


def test_package_proxy_no_proxy_lets_listed_hosts_bypass_the_proxy():
    in_root(egress.test_egress_no_proxy_lets_listed_hosts_bypass_the_proxy)


def test_package_proxy_https_tunnels_aws_calls_with_connect():
    in_root(egress.test_egress_https_proxy_tunnels_aws_calls_with_connect)


def test_package_proxy_dead_fails_the_invocation_with_a_transport_error():
    in_root(egress.test_egress_dead_proxy_fails_the_invocation_with_a_transport_error)


if __name__ == "__main__":
    smtest.run(globals())
