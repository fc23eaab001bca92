# FRR itself: Debian's source package, our patches, built out of tree by
# scripts/frr-build.sh (every step incremental), installed by `cmake --install`.
set(FRR_WORK_DIR ${CMAKE_BINARY_DIR}/frr)
set(FRR_SRC ${FRR_WORK_DIR}/src)
set(FRR_BUILD ${FRR_WORK_DIR}/build)
set(FRR_MODULE_DIR /usr/lib/x86_64-linux-gnu/frr/modules)
set(FRR_DAEMON_DIR /usr/lib/frr)

# vtysh's extract.pl takes a command's daemon from the name of the folder
# holding its file; give each module's glue folder its daemon's name.
set(FRR_VTYSH_SCAN_DIR ${CMAKE_BINARY_DIR}/vtysh-scan)
file(MAKE_DIRECTORY ${FRR_VTYSH_SCAN_DIR})
file(CREATE_LINK ${PROJECT_SOURCE_DIR}/bgpd-ext/glue ${FRR_VTYSH_SCAN_DIR}/bgpd SYMBOLIC)
file(CREATE_LINK ${PROJECT_SOURCE_DIR}/zebra-ext/glue ${FRR_VTYSH_SCAN_DIR}/zebra SYMBOLIC)
set(FRR_VTYSH_EXTRA_SCAN
  ${FRR_VTYSH_SCAN_DIR}/bgpd/bgpd_ha_vty.c
  ${FRR_VTYSH_SCAN_DIR}/zebra/zebra_ha_vty.c)

add_custom_target(frr ALL
  COMMAND ${PROJECT_SOURCE_DIR}/scripts/frr-build.sh ${FRR_WORK_DIR} ${FRR_VTYSH_EXTRA_SCAN}
  BYPRODUCTS ${FRR_BUILD}/config.h
  USES_TERMINAL
  COMMENT "FRR 8.4.4 (Debian source + patches/)")

install(CODE "
  execute_process(COMMAND ${PROJECT_SOURCE_DIR}/scripts/frr-build.sh --install
                          ${FRR_WORK_DIR} ${FRR_VTYSH_EXTRA_SCAN}
                  COMMAND_ERROR_IS_FATAL ANY)
")
