# Third-party packages (Debian; scripts/setup installs them).
find_package(OpenMP REQUIRED)
find_package(hwy REQUIRED)
find_package(ZLIB REQUIRED)  # zlib1g-dev: gzip'd IDX files (src/data/idx.cpp)

# OpenBLAS, OpenMP flavour (libopenblas-openmp-dev). See Note [One thread budget].
set(HPML_OPENBLAS_DIR "/usr/lib/${CMAKE_LIBRARY_ARCHITECTURE}/openblas-openmp" CACHE PATH
    "Folder holding the OpenMP flavour of libopenblas")
find_library(HPML_OPENBLAS_LIBRARY NAMES openblas PATHS ${HPML_OPENBLAS_DIR} NO_DEFAULT_PATH REQUIRED)
# The file hpml dlopens (src/kernels/cpu/blas.cpp): the versioned name the runtime package ships.
set(HPML_OPENBLAS_SONAME_PATH "${HPML_OPENBLAS_DIR}/libopenblas.so.0")
if(NOT EXISTS ${HPML_OPENBLAS_SONAME_PATH})
  message(FATAL_ERROR "OpenBLAS (OpenMP flavour) not found at ${HPML_OPENBLAS_SONAME_PATH}; run scripts/setup")
endif()
find_path(HPML_OPENBLAS_INCLUDE_DIR cblas.h
          PATHS /usr/include/${CMAKE_LIBRARY_ARCHITECTURE}/openblas-openmp NO_DEFAULT_PATH REQUIRED)

# oneDNN (libdnnl-dev): its sgemm is hpml's f32 GEMM (Note [Which GEMM] in src/kernels/cpu/gemm.cpp).
find_library(HPML_DNNL_LIBRARY NAMES dnnl REQUIRED)
find_path(HPML_DNNL_INCLUDE_DIR oneapi/dnnl/dnnl.h REQUIRED)

# MPI (libopenmpi-dev, openmpi-bin): the distributed backend (src/distributed/mpi_backend.cpp).
# Optional: without it hpml builds, and init_process_group says the backend is not built.
set(MPI_CXX_SKIP_MPICXX ON)  # the C API only: no deprecated C++ bindings
find_package(MPI COMPONENTS CXX)
