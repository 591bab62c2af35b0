# The CUDA toolchain, when HPML_CUDA asks for it (AUTO: when nvcc is found, on the PATH, by
# CUDACXX or in /usr/local/cuda). Sets HPML_WITH_CUDA. Machine code for sm_90 (H100, H200) and
# PTX for compute_90, which the driver compiles for newer GPUs; override with
# -DCMAKE_CUDA_ARCHITECTURES=... A build without the toolkit is the CPU build, unchanged.
set(HPML_WITH_CUDA OFF)
if(NOT HPML_CUDA STREQUAL "OFF")
  include(CheckLanguage)
  if(NOT CMAKE_CUDA_COMPILER AND NOT DEFINED ENV{CUDACXX} AND EXISTS /usr/local/cuda/bin/nvcc)
    set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
  endif()
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
      set(CMAKE_CUDA_ARCHITECTURES 90)  # 90 = sm_90 machine code + compute_90 PTX
    endif()
    enable_language(CUDA)
    set(CMAKE_CUDA_STANDARD 17)  # the .cu files see only plain structs (src/kernels/cuda/launch.h); CMake 3.25 has no CUDA20 for nvcc
    set(CMAKE_CUDA_STANDARD_REQUIRED ON)
    find_package(CUDAToolkit REQUIRED)
    set(HPML_WITH_CUDA ON)
    message(STATUS "hpml: CUDA ${CUDAToolkit_VERSION} (${CMAKE_CUDA_COMPILER}), architectures ${CMAKE_CUDA_ARCHITECTURES}")
  elseif(HPML_CUDA STREQUAL "ON")
    message(FATAL_ERROR "HPML_CUDA=ON but no CUDA compiler was found (set CUDACXX or put nvcc on the PATH)")
  else()
    message(STATUS "hpml: no CUDA toolkit found; building without CUDA (HPML_CUDA=AUTO)")
  endif()
endif()
set(HPML_CUDA_BUILT ${HPML_WITH_CUDA} CACHE INTERNAL "whether this build has the CUDA backend (scripts/test says)")
