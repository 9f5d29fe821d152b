# The fakes' shared server (tests/fakes/aws_fake.py), their independent SigV4 signer and verifier
# (tests/fakes/sigv4.py) and the Secrets Manager emulator (tests/fakes/fake_secretsmanager.py):
# tests of the fakes themselves, so the C clients and bootstrap run against checked, independent
# implementations.
sm_py_tests(${CMAKE_CURRENT_SOURCE_DIR}/fakes/test_fake_secretsmanager.py LABELS fakes TIMEOUT 60)
