#include "service/admin/policy_difference.h"

#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/field_mask.pb.h"
#include "google/protobuf/util/field_mask_util.h"
#include "service/common/deterministic_bytes.h"

namespace logout::admin {
namespace {

using common::DeterministicBytes;

using google::protobuf::Message;
using RepeatedStrings = google::protobuf::RepeatedPtrField<std::string>;

// One top-level field of `m` alone, serialised deterministically (map entries sorted).
std::string FieldBytes(const Message& m, const std::string& field) {
  std::unique_ptr<Message> only(m.New());
  google::protobuf::FieldMask mask;
  mask.add_paths(field);
  google::protobuf::util::FieldMaskUtil::MergeMessageTo(
      m, mask, google::protobuf::util::FieldMaskUtil::MergeOptions(), only.get());
  return DeterministicBytes(*only);
}

// Adds to `out` the name of every top-level field of the two messages (same type) that
// differs, except those in `skip`.
void ChangedFields(const Message& before, const Message& after,
                   std::initializer_list<absl::string_view> skip, RepeatedStrings* out) {
  const google::protobuf::Descriptor* d = before.GetDescriptor();
  for (int i = 0; i < d->field_count(); ++i) {
    const std::string& name = d->field(i)->name();
    if (std::find(skip.begin(), skip.end(), name) != skip.end()) continue;
    if (FieldBytes(before, name) != FieldBytes(after, name)) *out->Add() = name;
  }
}

void DiffUrls(const RepeatedStrings& before, const RepeatedStrings& after, RepeatedStrings* added,
              RepeatedStrings* removed) {
  const absl::flat_hash_set<absl::string_view> old_set(before.begin(), before.end());
  const absl::flat_hash_set<absl::string_view> new_set(after.begin(), after.end());
  for (const std::string& u : after) {
    if (!old_set.contains(u)) *added->Add() = u;
  }
  for (const std::string& u : before) {
    if (!new_set.contains(u)) *removed->Add() = u;
  }
}

// Matches the elements of two lists by `key` and reports added, removed and (through
// `changed`) the pairs present in both whose bytes differ.
template <typename T, typename Key, typename Changed>
void DiffByName(const google::protobuf::RepeatedPtrField<T>& before,
                const google::protobuf::RepeatedPtrField<T>& after, Key key, RepeatedStrings* added,
                RepeatedStrings* removed, Changed changed) {
  absl::flat_hash_map<std::string, const T*> old_by_name;
  for (const T& x : before) old_by_name.emplace(key(x), &x);
  absl::flat_hash_set<std::string> new_names;
  for (const T& x : after) {
    new_names.insert(key(x));
    auto it = old_by_name.find(key(x));
    if (it == old_by_name.end()) {
      *added->Add() = key(x);
    } else if (DeterministicBytes(*it->second) != DeterministicBytes(x)) {
      changed(*it->second, x);
    }
  }
  for (const T& x : before) {
    if (!new_names.contains(key(x))) *removed->Add() = key(x);
  }
}

v1::TenantDifference DiffTenant(const v1::Tenant& before, const v1::Tenant& after) {
  v1::TenantDifference d;
  d.set_tenant(after.name());
  ChangedFields(before, after, {"name", "allowed_logout_urls", "clients", "connections"},
                d.mutable_fields_changed());
  DiffUrls(before.allowed_logout_urls(), after.allowed_logout_urls(),
           d.mutable_allowed_logout_urls_added(), d.mutable_allowed_logout_urls_removed());
  DiffByName(
      before.clients(), after.clients(), [](const v1::Client& c) { return c.client_id(); },
      d.mutable_clients_added(), d.mutable_clients_removed(),
      [&d](const v1::Client& b, const v1::Client& a) {
        v1::ClientDifference* c = d.add_clients_changed();
        c->set_client_id(a.client_id());
        ChangedFields(b, a, {"client_id", "allowed_logout_urls"}, c->mutable_fields_changed());
        DiffUrls(b.allowed_logout_urls(), a.allowed_logout_urls(),
                 c->mutable_allowed_logout_urls_added(), c->mutable_allowed_logout_urls_removed());
      });
  DiffByName(
      before.connections(), after.connections(), [](const v1::Connection& c) { return c.name(); },
      d.mutable_connections_added(), d.mutable_connections_removed(),
      [&d](const v1::Connection& b, const v1::Connection& a) {
        v1::ConnectionDifference* c = d.add_connections_changed();
        c->set_name(a.name());
        ChangedFields(b, a, {"name"}, c->mutable_fields_changed());
      });
  return d;
}

}  // namespace

v1::PolicyDifference DiffPolicies(const v1::PolicyConfig& before, const v1::PolicyConfig& after) {
  v1::PolicyDifference d;
  DiffByName(
      before.tenants(), after.tenants(), [](const v1::Tenant& t) { return t.name(); },
      d.mutable_tenants_added(), d.mutable_tenants_removed(),
      [&d](const v1::Tenant& b, const v1::Tenant& a) {
        *d.add_tenants_changed() = DiffTenant(b, a);
      });
  return d;
}

bool HasRemovals(const v1::PolicyDifference& d) {
  if (!d.tenants_removed().empty()) return true;
  for (const v1::TenantDifference& t : d.tenants_changed()) {
    if (!t.clients_removed().empty() || !t.connections_removed().empty()) return true;
  }
  return false;
}

std::string DescribeRemovals(const v1::PolicyDifference& d, int limit) {
  std::vector<std::string> names;
  int more = 0;
  const auto add = [&](absl::string_view kind, absl::string_view name) {
    if (static_cast<int>(names.size()) < limit) {
      names.push_back(absl::StrCat(kind, " \"", absl::CEscape(name.substr(0, 128)), "\""));
    } else {
      ++more;
    }
  };
  for (const std::string& t : d.tenants_removed()) add("tenant", t);
  for (const v1::TenantDifference& t : d.tenants_changed()) {
    for (const std::string& c : t.clients_removed())
      add("client", absl::StrCat(t.tenant(), "/", c));
    for (const std::string& c : t.connections_removed()) {
      add("connection", absl::StrCat(t.tenant(), "/", c));
    }
  }
  std::string out = absl::StrJoin(names, ", ");
  if (more > 0) absl::StrAppend(&out, " and ", more, " more");
  return out;
}

bool IsEmpty(const v1::PolicyDifference& d) {
  return d.tenants_added().empty() && d.tenants_removed().empty() && d.tenants_changed().empty();
}

}  // namespace logout::admin
