// Counts heap allocations made by the current thread while a ScopedAllocCounter is alive, so a
// benchmark can print "allocations per decision". Linked into a benchmark binary through
// alloc_counter.cc, which replaces the global operator new/delete (every variant) and, when
// InstallOpenSslCounting() is called first thing in main, OpenSSL's allocator too.
//
//   logout::bench::ScopedAllocCounter counter;
//   policy::Decide(*policy, request, now, &response);
//   AllocStats s = counter.Stats();   // s.count operator-new calls, s.openssl_count CRYPTO_malloc
//
// Counting is per thread (a thread_local flag), so allocations of other threads never leak into
// a figure. Not counted: plain malloc() calls outside OpenSSL (none on logoutd's decision path:
// protobuf, Abseil and the standard library all allocate through operator new).
#ifndef BENCH_ALLOC_COUNTER_H_
#define BENCH_ALLOC_COUNTER_H_

#include <cstdint>

namespace logout::bench {

struct AllocStats {
  uint64_t count = 0;          // operator new / new[] calls (all overloads)
  uint64_t bytes = 0;          // bytes requested from operator new
  uint64_t openssl_count = 0;  // CRYPTO_malloc / CRYPTO_realloc calls (see InstallOpenSslCounting)
  uint64_t openssl_bytes = 0;
  uint64_t total_count() const { return count + openssl_count; }
};

// InstallOpenSslCounting routes OpenSSL's allocations through counting wrappers of malloc.
// Must run before OpenSSL allocates anything (first statement of main); returns false when
// OpenSSL refused (it had already allocated), in which case OpenSSL allocations read as zero.
bool InstallOpenSslCounting();

// ScopedAllocCounter counts this thread's allocations from construction until Stats() or
// destruction. Not reentrant: one live counter per thread.
class ScopedAllocCounter {
 public:
  ScopedAllocCounter();
  ~ScopedAllocCounter();
  ScopedAllocCounter(const ScopedAllocCounter&) = delete;
  ScopedAllocCounter& operator=(const ScopedAllocCounter&) = delete;

  // Stats returns what was counted so far (counting continues).
  AllocStats Stats() const;
};

}  // namespace logout::bench

#endif  // BENCH_ALLOC_COUNTER_H_
