# The Secrets Manager emulator (tests/fakes/fake_secretsmanager.py), its SigV4 signer/verifier
# (tests/fakes/sm_sigv4.py) and the signed client/CLI (tests/fakes/sm_client.py): tests of the fake
# itself, so the C client's tests run against a checked, independent implementation.
sm_py_tests(${CMAKE_CURRENT_SOURCE_DIR}/fakes/test_fake_secretsmanager.py LABELS fakes TIMEOUT 60)
