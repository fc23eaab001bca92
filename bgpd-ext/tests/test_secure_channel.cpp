// The HA channel's TLS 1.3 session without sockets: two SecureChannel ends
// wired back to back in memory, and what an attacker on the wire can do to
// the bytes between them (relay, replay, reflect, flip, cut).
#include <catch2/catch.hpp>

#include "secure_channel.hpp"

#include <memory>
#include <vector>

using namespace frr_ha;

namespace {

const std::string kKey = "0123456789abcdef0123";

// One connection: `client` connected to `server`.
struct Link {
    Link(const std::string &client_name, const std::string &server_name,
         const std::string &client_key = kKey, const std::string &server_key = kKey,
         const std::string &server_partner = "")
        : client(ChannelSide::Connected, client_name, server_name, client_key),
          server(ChannelSide::Accepted, server_name,
                 server_partner.empty() ? client_name : server_partner, server_key)
    {
    }

    // Moves bytes both ways until nothing moves; what each end sent is
    // recorded (the attacker's copy).
    void pump()
    {
        for (int i = 0; i < 20; i++) {
            auto c = client.take_output();
            auto s = server.take_output();
            if (c.empty() && s.empty())
                return;
            if (!c.empty()) {
                from_client.push_back(c);
                server.receive(c.data(), c.size(), &at_server);
            }
            if (!s.empty()) {
                from_server.push_back(s);
                client.receive(s.data(), s.size(), &at_client);
            }
        }
    }

    void handshake()
    {
        client.start();
        pump();
    }

    SecureChannel client, server;
    std::string at_client, at_server;                  // plaintext received
    std::vector<std::string> from_client, from_server;  // each flight on the wire
};

// Splits a chunk of ciphertext into its TLS records.
std::vector<std::string> records(const std::string &bytes)
{
    std::vector<std::string> out;
    std::size_t off = 0;
    while (off + 5 <= bytes.size()) {
        const std::size_t len = (static_cast<unsigned char>(bytes[off + 3]) << 8) |
                                static_cast<unsigned char>(bytes[off + 4]);
        out.push_back(bytes.substr(off, 5 + len));
        off += 5 + len;
    }
    return out;
}

}  // namespace

TEST_CASE("TLS 1.3 with the PSK: a handshake in each direction, data both ways")
{
    for (auto [client, server] : {std::pair{"a", "b"}, std::pair{"b", "a"}}) {
        Link link(client, server);
        link.handshake();
        REQUIRE(link.client.established());
        REQUIRE(link.server.established());
        CHECK(link.client.version() == "TLSv1.3");
        CHECK(link.server.cipher() == "TLS_AES_256_GCM_SHA384");
        CHECK(link.server.identity() == client);

        CHECK(link.client.send("from the client"));
        CHECK(link.server.send(std::string(100000, 's')));  // several records
        link.pump();
        CHECK(link.at_server == "from the client");
        CHECK(link.at_client == std::string(100000, 's'));
        // Nothing on the wire is the plaintext.
        for (const auto &flight : link.from_client)
            CHECK(flight.find("from the client") == std::string::npos);
    }
}

TEST_CASE("plaintext sent before the handshake completes waits for it")
{
    Link link("a", "b");
    CHECK(link.client.send("early"));
    CHECK(link.server.send("early too"));
    link.handshake();
    link.pump();
    CHECK(link.at_server == "early");
    CHECK(link.at_client == "early too");
}

TEST_CASE("a wrong key is refused at the handshake, on both ends")
{
    Link link("a", "b", kKey, "another-key-0123456789");
    link.client.send("secret");
    link.handshake();
    CHECK_FALSE(link.client.established());
    CHECK_FALSE(link.server.established());
    CHECK(link.server.failure() == SecurityFailure::WrongKey);
    CHECK(link.client.failure() == SecurityFailure::WrongKey);
    CHECK(link.at_server.empty());
    CHECK(link.server.failure_text().find("does not hold this RP's key") != std::string::npos);
}

TEST_CASE("reflection: an RP's own handshake sent back to it is refused")
{
    // b connects to its partner a; an attacker sends b's ClientHello back to
    // b's own listening end, hoping b authenticates itself as a.
    SecureChannel b_client(ChannelSide::Connected, "b", "a", kKey);
    SecureChannel b_server(ChannelSide::Accepted, "b", "a", kKey);
    b_client.start();
    const auto hello = b_client.take_output();
    std::string plain;
    CHECK_FALSE(b_server.receive(hello.data(), hello.size(), &plain));
    CHECK(b_server.failure() == SecurityFailure::Reflection);
    CHECK(b_server.identity() == "b");

    SECTION("the refusal reaches the connecting side as an alert")
    {
        auto alert = b_server.take_output();
        REQUIRE_FALSE(alert.empty());
        CHECK_FALSE(b_client.receive(alert.data(), alert.size(), &plain));
        CHECK(b_client.failure() == SecurityFailure::PartnerAlert);
    }
}

TEST_CASE("a connecting side that is not the configured partner is refused")
{
    // c holds the key (a third RP of another pair with the same key) and
    // connects to b, whose partner is a.
    Link link("c", "b", kKey, kKey, "a");
    link.handshake();
    CHECK_FALSE(link.server.established());
    CHECK(link.server.failure() == SecurityFailure::UnknownIdentity);
    CHECK(link.server.identity() == "c");
}

TEST_CASE("a relay that splices two handshakes fails, whichever flight it swaps")
{
    // Two handshakes a -> b run at once (an attacker in the middle of both).
    Link one("a", "b"), two("a", "b");
    one.client.start();
    two.client.start();
    auto hello1 = one.client.take_output();
    auto hello2 = two.client.take_output();
    std::string plain;

    SECTION("server flight of handshake 2 given to client 1")
    {
        two.server.receive(hello2.data(), hello2.size(), &plain);
        auto flight = two.server.take_output();
        CHECK_FALSE(one.client.receive(flight.data(), flight.size(), &plain));
        CHECK_FALSE(one.client.established());
        CHECK(one.client.failure() == SecurityFailure::HandshakeIntegrity);
    }
    SECTION("client 1's Finished given to server 2, which answered client 2")
    {
        one.server.receive(hello1.data(), hello1.size(), &plain);
        auto flight1 = one.server.take_output();
        one.client.receive(flight1.data(), flight1.size(), &plain);
        REQUIRE(one.client.established());
        one.client.send("status");
        auto finished1 = one.client.take_output();

        two.server.receive(hello2.data(), hello2.size(), &plain);
        CHECK_FALSE(two.server.receive(finished1.data(), finished1.size(), &plain));
        CHECK_FALSE(two.server.established());
        CHECK(two.server.failure() == SecurityFailure::HandshakeIntegrity);
        CHECK(plain.empty());
    }
}

TEST_CASE("a recorded client flight replayed to the server fails")
{
    Link recorded("a", "b");
    recorded.client.send("HELLO and STATUS");
    recorded.handshake();
    REQUIRE(recorded.server.established());
    REQUIRE(recorded.at_server == "HELLO and STATUS");
    REQUIRE(recorded.from_client.size() >= 2);

    // The same bytes, in the same order, to a fresh accepting end.
    SecureChannel server(ChannelSide::Accepted, "b", "a", kKey);
    std::string plain;
    bool ok = true;
    for (const auto &flight : recorded.from_client)
        ok = ok && server.receive(flight.data(), flight.size(), &plain);
    CHECK_FALSE(ok);
    CHECK_FALSE(server.established());
    CHECK(server.failure() == SecurityFailure::HandshakeIntegrity);
    CHECK(plain.empty());  // nothing of the recorded session is delivered
}

TEST_CASE("records replayed or reordered within a session fail")
{
    Link link("a", "b");
    link.handshake();
    REQUIRE(link.server.established());
    link.client.send("first");
    auto first = link.client.take_output();
    std::string plain;
    REQUIRE(link.server.receive(first.data(), first.size(), &plain));
    CHECK(plain == "first");
    plain.clear();
    CHECK_FALSE(link.server.receive(first.data(), first.size(), &plain));  // again
    CHECK(link.server.failure() == SecurityFailure::RecordIntegrity);
    CHECK(plain.empty());
}

TEST_CASE("a flipped bit in an application record is refused")
{
    Link link("a", "b");
    link.handshake();
    REQUIRE(link.server.established());
    link.client.send("one");
    link.client.send("two");
    auto bytes = link.client.take_output();
    auto recs = records(bytes);
    REQUIRE(recs.size() == 2);

    std::string plain;
    SECTION("in the body of the second record")
    {
        bytes[recs[0].size() + 5 + 3] ^= 0x01;
        CHECK_FALSE(link.server.receive(bytes.data(), bytes.size(), &plain));
        CHECK(link.server.failure() == SecurityFailure::RecordIntegrity);
        CHECK(plain == "one");  // only what came before, authentic
    }
    SECTION("in the tag of the first record")
    {
        bytes[recs[0].size() - 1] ^= 0x80;
        CHECK_FALSE(link.server.receive(bytes.data(), bytes.size(), &plain));
        CHECK(link.server.failure() == SecurityFailure::RecordIntegrity);
        CHECK(plain.empty());
    }
    SECTION("in a record header (the length)")
    {
        bytes[4] ^= 0x01;
        link.server.receive(bytes.data(), bytes.size(), &plain);
        link.server.end_of_stream();
        CHECK(link.server.failed());
        CHECK(plain.empty());
    }
    // Dead for good: nothing after the failure is read.
    link.client.send("three");
    auto more = link.client.take_output();
    plain.clear();
    CHECK_FALSE(link.server.receive(more.data(), more.size(), &plain));
    CHECK(plain.empty());
}

TEST_CASE("the end of the stream: close_notify, a cut between records, a truncated record")
{
    Link link("a", "b");
    link.handshake();
    REQUIRE(link.server.established());
    link.client.send("data");
    auto bytes = link.client.take_output();
    std::string plain;

    SECTION("clean close")
    {
        link.client.close();
        bytes += link.client.take_output();
        CHECK(link.server.receive(bytes.data(), bytes.size(), &plain));
        CHECK(link.server.partner_closed());
        CHECK(link.server.end_of_stream() == SecureChannel::End::Clean);
    }
    SECTION("cut at a record boundary, without close_notify")
    {
        CHECK(link.server.receive(bytes.data(), bytes.size(), &plain));
        CHECK(link.server.end_of_stream() == SecureChannel::End::NoNotify);
        CHECK_FALSE(link.server.failed());
    }
    SECTION("cut inside a record")
    {
        CHECK(link.server.receive(bytes.data(), bytes.size() - 4, &plain));
        CHECK(plain.empty());
        CHECK(link.server.end_of_stream() == SecureChannel::End::Truncated);
        CHECK(link.server.failure() == SecurityFailure::Truncated);
    }
    SECTION("cut inside a record header")
    {
        CHECK(link.server.receive(bytes.data(), 3, &plain));
        CHECK(link.server.end_of_stream() == SecureChannel::End::Truncated);
    }
}

TEST_CASE("what is not a TLS 1.3 handshake is refused, an older frr-ha named as such")
{
    SecureChannel server(ChannelSide::Accepted, "b", "a", kKey);
    std::string plain;
    SECTION("garbage")
    {
        const std::string bytes = "GET / HTTP/1.0\r\n\r\n";
        CHECK_FALSE(server.receive(bytes.data(), bytes.size(), &plain));
        CHECK(server.failure() == SecurityFailure::NotTls);
    }
    SECTION("a plaintext frame of protocol version 1")
    {
        const std::string bytes("\xFA\x4A\x01\x01\x00\x00\x00\x00", 8);
        CHECK_FALSE(server.receive(bytes.data(), bytes.size(), &plain));
        CHECK(server.failure() == SecurityFailure::OldProtocol);
    }
}
