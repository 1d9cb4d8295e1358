// DeterministicBytes: a message's serialisation with map entries in a fixed order, so that two
// equal messages give equal bytes (etags, differences, change detection).
//
//   if (DeterministicBytes(before) != DeterministicBytes(after)) { ... changed ... }
#ifndef SERVICE_COMMON_DETERMINISTIC_BYTES_H_
#define SERVICE_COMMON_DETERMINISTIC_BYTES_H_

#include <string>

#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/message.h"

namespace logout::common {

// DeterministicBytes serialises `m` deterministically. Thread-safe; never fails for a message
// that is initialised (proto3 messages always are).
inline std::string DeterministicBytes(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::io::StringOutputStream stream(&out);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  m.SerializeToCodedStream(&coded);
  return out;
}

}  // namespace logout::common

#endif  // SERVICE_COMMON_DETERMINISTIC_BYTES_H_
