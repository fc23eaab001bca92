# frr_module(NAME <daemon>_<name> SOURCES ... [CLIPPY ...] [LIBS ...]): a
# loadable FRR module (C glue, compiled against FRR's build tree like FRR's own
# modules), installed where `<daemon> -M <name>` finds it. CLIPPY names the
# sources with DEFPY commands: FRR's clippy makes <file>_clippy.c for each,
# which the source includes, as FRR's own daemons do.
function(frr_module NAME)
  cmake_parse_arguments(ARG "" "" "SOURCES;CLIPPY;LIBS" ${ARGN})
  set(clippy_outputs)
  foreach(src IN LISTS ARG_CLIPPY)
    get_filename_component(base ${src} NAME_WE)
    set(out ${CMAKE_CURRENT_BINARY_DIR}/${base}_clippy.c)
    # clidef.py reads FRR's generated headers relative to the build tree.
    add_custom_command(OUTPUT ${out}
      COMMAND ${FRR_BUILD}/lib/clippy ${FRR_SRC}/python/clidef.py -o ${out}
              ${CMAKE_CURRENT_SOURCE_DIR}/${src}
      WORKING_DIRECTORY ${FRR_BUILD}
      DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/${src} frr
      COMMENT "clippy: ${src}")
    list(APPEND clippy_outputs ${out})
  endforeach()
  add_library(${NAME} MODULE ${ARG_SOURCES} ${clippy_outputs})
  set_source_files_properties(${clippy_outputs} PROPERTIES HEADER_FILE_ONLY ON)
  target_include_directories(${NAME} PRIVATE ${CMAKE_CURRENT_BINARY_DIR})
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
