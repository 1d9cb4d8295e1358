// Small status-propagation macros: Abseil 20220623 ships none.
//
//   LOGOUT_RETURN_IF_ERROR(DoThing());
//   LOGOUT_ASSIGN_OR_RETURN(auto value, MaybeValue());
#ifndef SERVICE_COMMON_STATUS_MACROS_H_
#define SERVICE_COMMON_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// LOGOUT_RETURN_IF_ERROR evaluates `expr` (an absl::Status) and returns it from the enclosing
// function when it is not OK.
#define LOGOUT_RETURN_IF_ERROR(expr)                 \
  do {                                               \
    ::absl::Status logout_status_ = (expr);          \
    if (!logout_status_.ok()) return logout_status_; \
  } while (false)

#define LOGOUT_STATUS_MACROS_CONCAT_INNER_(x, y) x##y
#define LOGOUT_STATUS_MACROS_CONCAT_(x, y) LOGOUT_STATUS_MACROS_CONCAT_INNER_(x, y)

// LOGOUT_ASSIGN_OR_RETURN evaluates `rexpr` (an absl::StatusOr<T>); on error returns its status,
// otherwise moves the value into `lhs` (which may be a declaration).
#define LOGOUT_ASSIGN_OR_RETURN(lhs, rexpr)                                                    \
  LOGOUT_ASSIGN_OR_RETURN_IMPL_(LOGOUT_STATUS_MACROS_CONCAT_(logout_statusor_, __LINE__), lhs, \
                                rexpr)

// NOLINTBEGIN(bugprone-macro-parentheses): `lhs` may be a declaration.
#define LOGOUT_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                  \
  if (!statusor.ok()) return std::move(statusor).status();  \
  lhs = *std::move(statusor)
// NOLINTEND(bugprone-macro-parentheses)

#endif  // SERVICE_COMMON_STATUS_MACROS_H_
