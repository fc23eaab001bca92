// What a tap call gives back when it can fail: the value, or why there is
// none. A failure is a value the caller must look at, never an empty
// string or an empty list that could also mean "nothing to do".
#pragma once

#include <optional>
#include <string>
#include <utility>

namespace frr_ha {

// Done, or why not.
class Status {
public:
    static Status ok() { return Status(); }
    static Status fail(std::string why) { return Status(std::move(why)); }

    explicit operator bool() const { return !failed_; }
    // "" when done.
    const std::string &why() const { return why_; }

private:
    Status() = default;
    explicit Status(std::string why) : failed_(true), why_(std::move(why)) {}
    bool failed_ = false;
    std::string why_;
};

// A value, or why there is none.
template <typename T>
class Result {
public:
    Result(T value) : value_(std::move(value)) {}
    static Result fail(std::string why) { return Result(Status::fail(std::move(why))); }
    Result(Status failed) : why_(failed.why()) {}

    explicit operator bool() const { return value_.has_value(); }
    T &operator*() { return *value_; }
    const T &operator*() const { return *value_; }
    T *operator->() { return &*value_; }
    const T *operator->() const { return &*value_; }
    const std::string &why() const { return why_; }

private:
    std::optional<T> value_;
    std::string why_;
};

}  // namespace frr_ha
