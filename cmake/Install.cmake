# Installs libhpml, its headers and a CMake package so that `find_package(hpml)` works.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS hpml EXPORT hpmlTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY include/hpml DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT hpmlTargets NAMESPACE hpml:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/hpml)
configure_package_config_file(cmake/hpmlConfig.cmake.in ${CMAKE_CURRENT_BINARY_DIR}/hpmlConfig.cmake
                              INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/hpml)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/hpmlConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/hpmlConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/hpmlConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/hpml)
