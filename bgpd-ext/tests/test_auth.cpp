#include <catch2/catch.hpp>

#include "auth.hpp"

using namespace frr_ha;

namespace {
const std::string key = "0123456789abcdef-secret";
}

TEST_CASE("nonces are fresh and of the right size")
{
    auto a = random_nonce(), b = random_nonce();
    CHECK(a.size() == kNonceSize);
    CHECK(a != b);
}

TEST_CASE("an answer made with the key verifies, and any change breaks it")
{
    auto na = random_nonce(), nb = random_nonce();
    // b answers a's challenge; a checks with what it expects from b.
    auto answer = auth_answer(key, na, nb, "b", "a");
    CHECK(auth_answer_matches(auth_answer(key, na, nb, "b", "a"), answer));
    CHECK(answer.size() == 32);

    CHECK_FALSE(auth_answer_matches(auth_answer("another-key-0123456", na, nb, "b", "a"), answer));
    CHECK_FALSE(auth_answer_matches(auth_answer(key, random_nonce(), nb, "b", "a"), answer));
    CHECK_FALSE(auth_answer_matches(auth_answer(key, na, random_nonce(), "b", "a"), answer));
    CHECK_FALSE(auth_answer_matches(answer.substr(0, 31), answer));
}

TEST_CASE("an answer cannot be reflected back at its sender")
{
    auto na = random_nonce(), nb = random_nonce();
    // What a sends to b, and what b would need from a mirror image of itself.
    auto a_to_b = auth_answer(key, nb, na, "a", "b");
    CHECK_FALSE(auth_answer_matches(auth_answer(key, na, nb, "b", "a"), a_to_b));
    // Same names and nonces but swapped roles: different answer.
    CHECK_FALSE(auth_answer_matches(auth_answer(key, na, nb, "a", "b"), a_to_b));
}
