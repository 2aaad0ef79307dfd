# The CUDA kernels compiled by the host compiler against the emulator (emu.h), with the tests of
# native/test/cuda. Included by the top-level CMakeLists.txt, in the main build (fiber mode) and in
# the DK_EMU_ONLY sanitizer trees (DK_SANITIZE=thread: thread mode; address: both modes under
# AddressSanitizer + UndefinedBehaviorSanitizer).
include(${CMAKE_CURRENT_SOURCE_DIR}/native/src/cuda/sources.cmake)
find_package(Threads REQUIRED)

# The test cases, read from the sources so that ctest registers each one.
# The tests compare some kernels with deepkern's reference implementations, linked in from native/src/ref.
set(DK_CUDA_TEST_SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/native/test/main.cpp)
foreach(f eltwise_ref embedding_ref nd_ref norm_ref optim_ref softmax_ref)
  list(APPEND DK_CUDA_TEST_SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/native/src/ref/${f}.cpp)
endforeach()
set(DK_CUDA_TEST_CASES)
file(GLOB dk_cuda_test_files ${CMAKE_CURRENT_SOURCE_DIR}/native/test/cuda/test_*.cpp)
foreach(f ${dk_cuda_test_files})
  list(APPEND DK_CUDA_TEST_SOURCES ${f})
  file(STRINGS ${f} lines REGEX "^TEST\\(")
  foreach(l ${lines})
    string(REGEX REPLACE "^TEST\\(([A-Za-z0-9_]+)\\).*" "\\1" name "${l}")
    list(APPEND DK_CUDA_TEST_CASES ${name})
  endforeach()
endforeach()
set(DK_EMU_TEST_CASES ${DK_CUDA_TEST_CASES})
file(STRINGS ${CMAKE_CURRENT_SOURCE_DIR}/native/test/cuda/emu_selftest.cpp lines REGEX "^TEST\\(")
foreach(l ${lines})
  string(REGEX REPLACE "^TEST\\(([A-Za-z0-9_]+)\\).*" "\\1" name "${l}")
  list(APPEND DK_EMU_TEST_CASES ${name})
endforeach()

# Each .cu is compiled as C++ through a one-line wrapper (a source file has one language per
# directory, and nvcc owns the .cu files).
set(dk_emu_sources ${CMAKE_CURRENT_SOURCE_DIR}/native/src/cuda/emu/emu.cpp)
foreach(f ${DK_CUDA_KERNEL_FILES})
  set(w ${CMAKE_CURRENT_BINARY_DIR}/emu/${f}_emu.cpp)
  if(NOT EXISTS ${w})
    file(WRITE ${w} "#include \"${CMAKE_CURRENT_SOURCE_DIR}/native/src/cuda/${f}.cu\"\n")
  endif()
  list(APPEND dk_emu_sources ${w})
endforeach()

# The kernels and the emulator, compiled once for the test executable and (main tree) for
# libdeepkern_cuda_emu.so, a stand-in for libdeepkern_cuda that libdeepkern loads when
# DK_CUDA_LIBRARY names it: the whole path C ABI -> libdeepkern -> dlopen -> kernels runs in tests.
add_library(dk_cuda_emu_objs OBJECT ${dk_emu_sources})
set_target_properties(dk_cuda_emu_objs PROPERTIES POSITION_INDEPENDENT_CODE ON)
add_executable(dk_cuda_emu_tests $<TARGET_OBJECTS:dk_cuda_emu_objs> ${DK_CUDA_TEST_SOURCES}
               ${CMAKE_CURRENT_SOURCE_DIR}/native/test/cuda/emu_selftest.cpp)
foreach(t dk_cuda_emu_objs dk_cuda_emu_tests)
  target_compile_definitions(${t} PRIVATE DK_CUDA_EMU)
  target_include_directories(${t} PRIVATE native/include native/src native/src/cuda native/test)
  # #pragma unroll is for nvcc.
  target_compile_options(${t} PRIVATE -Wall -Wextra -Werror -Wno-unused-parameter -Wno-unknown-pragmas)
endforeach()
target_link_libraries(dk_cuda_emu_tests PRIVATE Threads::Threads)
if(NOT DK_EMU_ONLY)
  add_library(deepkern_cuda_emu SHARED $<TARGET_OBJECTS:dk_cuda_emu_objs>)
  target_link_libraries(deepkern_cuda_emu PRIVATE Threads::Threads)
  set_target_properties(deepkern_cuda_emu PROPERTIES LINK_OPTIONS "-Wl,--no-undefined")
endif()

set(dk_emu_modes fiber)
if(DK_SANITIZE STREQUAL "thread")
  target_compile_options(dk_cuda_emu_objs PRIVATE -fsanitize=thread -g -O1)
  target_compile_options(dk_cuda_emu_tests PRIVATE -fsanitize=thread -g -O1)
  target_link_options(dk_cuda_emu_tests PRIVATE -fsanitize=thread)
  set(dk_emu_modes threads) # fibers are invisible to ThreadSanitizer; races need real threads
  set(dk_emu_tag tsan)
elseif(DK_SANITIZE STREQUAL "address")
  set(san -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  target_compile_options(dk_cuda_emu_objs PRIVATE ${san} -g -O1)
  target_compile_options(dk_cuda_emu_tests PRIVATE ${san} -g -O1)
  target_link_options(dk_cuda_emu_tests PRIVATE ${san})
  set(dk_emu_modes fiber threads)
  set(dk_emu_tag asan)
elseif(DK_SANITIZE STREQUAL "")
  set(dk_emu_tag plain)
else()
  message(FATAL_ERROR "DK_SANITIZE must be '', thread or address; got '${DK_SANITIZE}'")
endif()

enable_testing()
foreach(mode ${dk_emu_modes})
  foreach(case ${DK_EMU_TEST_CASES})
    set(t cuda_emu_${dk_emu_tag}_${mode}.${case})
    add_test(NAME ${t} COMMAND dk_cuda_emu_tests ${case})
    set(env "DK_EMU_MODE=${mode};TSAN_OPTIONS=halt_on_error=1;ASAN_OPTIONS=detect_leaks=1")
    if(case STREQUAL "cuda_allocator_caches")
      list(APPEND env "DK_EMU_CACHING_ALLOCATOR=1")
    endif()
    set_tests_properties(${t} PROPERTIES ENVIRONMENT "${env}" LABELS "emu;emu_${mode};${dk_emu_tag}")
  endforeach()
endforeach()
if(DK_SANITIZE STREQUAL "thread")
  # The racy kernel of emu_selftest.cpp (no __syncthreads): ThreadSanitizer must report it.
  add_test(NAME cuda_emu_tsan_threads.race_is_reported COMMAND dk_cuda_emu_tests emu_race_for_tsan)
  set_tests_properties(cuda_emu_tsan_threads.race_is_reported PROPERTIES
                       ENVIRONMENT "DK_EMU_MODE=threads;TSAN_OPTIONS=halt_on_error=1"
                       PASS_REGULAR_EXPRESSION "ThreadSanitizer: data race .*emu_selftest.cpp:[0-9]+ in reverse_kernel" LABELS "emu;tsan")
endif()
