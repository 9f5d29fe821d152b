# Checks of template.yaml (AWS SAM) against the CloudFormation + SAM resource specification and the
# C code (tests/template/check_template.py), and of its deployment details: one function per
# architecture, log group, master secrets (check_template_deploy.py). The specification and the YAML parser come from npm,
# pinned in tests/template/package.json + package-lock.json and installed by the template_npm_ci
# fixture into ${CMAKE_BINARY_DIR}/template-npm (needs node and npm; the npm registry or a warm
# npm cache). A missing node/npm fails template_npm_ci, and with it every template_ test.
find_program(SM_NODE NAMES node nodejs)
find_program(SM_NPM npm)
set(SM_TEMPLATE_NPM_DIR ${CMAKE_BINARY_DIR}/template-npm)

if(SM_NODE AND SM_NPM)
  # npm trusts only Node's built-in CAs; the system store is added so that a machine whose
  # egress goes through a TLS-inspecting proxy (its CA installed system-wide) reaches the registry.
  add_test(NAME template_npm_ci
           COMMAND sh -c "[ -z \"$NODE_EXTRA_CA_CERTS\" ] && [ -r /etc/ssl/certs/ca-certificates.crt ] && export NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt; mkdir -p \"$1\" && cp \"$2/package.json\" \"$2/package-lock.json\" \"$1/\" && cd \"$1\" && \"$3\" ci --no-audit --no-fund --loglevel=error"
                   sh ${SM_TEMPLATE_NPM_DIR} ${CMAKE_CURRENT_SOURCE_DIR}/template ${SM_NPM})
else()
  add_test(NAME template_npm_ci
           COMMAND sh -c "echo 'node and npm are needed for the template checks (Debian: apt-get install nodejs npm)' >&2; exit 1")
endif()
set_tests_properties(template_npm_ci PROPERTIES FIXTURES_SETUP template_npm LABELS template
                     TIMEOUT 300)

foreach(script check_template.py check_template_deploy.py)
  sm_py_tests(${CMAKE_CURRENT_SOURCE_DIR}/template/${script} LABELS template TIMEOUT 120
              FIXTURES template_npm
              ENVIRONMENT SMR_TEMPLATE_NODE_MODULES=${SM_TEMPLATE_NPM_DIR}/node_modules
                          SMR_NODE=${SM_NODE})
endforeach()
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
             ${CMAKE_SOURCE_DIR}/template.yaml)
