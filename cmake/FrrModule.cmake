# frr_module(NAME <daemon>_<name> SOURCES ... [LIBS ...]): a loadable FRR module
# (C glue, compiled against FRR's build tree like FRR's own modules), installed
# where `<daemon> -M <name>` finds it.
function(frr_module NAME)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS" ${ARGN})
  add_library(${NAME} MODULE ${ARG_SOURCES})
  add_dependencies(${NAME} frr)
  set_target_properties(${NAME} PROPERTIES PREFIX "" C_STANDARD 11 C_EXTENSIONS ON)
  target_compile_definitions(${NAME} PRIVATE HAVE_CONFIG_H
    FRR_HA_VERSION="${PROJECT_VERSION}")
  # The same include order as FRR's AM_CPPFLAGS (lib/assert first).
  target_include_directories(${NAME} SYSTEM PRIVATE
    ${FRR_SRC}/lib/assert ${FRR_SRC} ${FRR_SRC}/include ${FRR_SRC}/lib
    ${FRR_BUILD} ${FRR_BUILD}/lib)
  target_compile_options(${NAME} PRIVATE -Wall -Wno-unused-parameter)
  target_link_libraries(${NAME} PRIVATE ${ARG_LIBS})
  # Symbols of libfrr and of the daemon resolve when the daemon loads us.
  install(TARGETS ${NAME} LIBRARY DESTINATION ${FRR_MODULE_DIR})
endfunction()
