//! End-to-end tests of the `keyport` command, run as a real process against real parts: a private
//! D-Bus session with gnome-keyring (the real Secret Service), node `oidc-provider` on loopback (a
//! real OpenID Connect server we did not write), and a scripted browser completing its login.
//!
//! Index:
//! - `activation`: the agent started by the first request (socket activation, with systemd's own
//!   `systemd-socket-activate`), served from memory from then on, gone when idle; with
//!   `socket_unit`, a stand-in for systemd's socket unit that keeps listening: no request failing
//!   across idle exits, new activations, the app's agent taking the path over and giving it back.
//! - `user_manager`: the shipped units under a real `systemd --user`: the agent started by the
//!   first request, gone when idle, started again; the app's agent taking the socket over and
//!   handing it back through the real `systemctl`.
//! - `agent`: tokens from memory while an agent runs; same output, one refresher, audit.
//! - `connect`: sign-in, account listing, what is stored where, reconnecting the same user.
//! - `discovery`: a provider added by its issuer URL, then used; bad issuers change nothing.
//! - `device`: sign-in with a code (RFC 8628): approved, refused, expired.
//! - `mcp`: remote MCP servers connected by URL (discovery, registration, resource indicators)
//!   against a server built on the official MCP Python SDK.
//! - `mcp_hostile`: MCP servers that attack through Keyport: names with terminal escapes, streams
//!   that would cost the bridge memory or CPU without bound.
//! - `mcp_reach`: MCP servers after what is not theirs: a neighbour on the same origin after another
//!   server's token, metadata that aims at local services, step-ups without end.
//! - `mcp_memory`: `keyport mcp` holds tokens as the agent does (non-dumpable, no core file), and
//!   the agent still names its MCP client.
//! - `mcp_revisions`: `keyport mcp` with the SDK's newest client in each mode (2026-07-28 among them),
//!   servers that ask for a sign-in late or never, client credentials, an identity provider's ID-JAG.
//! - `python_client`: the Python client (`clients/python`) with real httpx and requests: tokens over
//!   the agent's socket, a refresh and a retry after a 401, the audit naming Python, the fall back
//!   to `keyport`; the client inside a bubblewrap sandbox given the agent's socket.
//! - `token`: handing out tokens, refresh on expiry, many concurrent callers and one refresh.
//! - `revoke`: revoke and disconnect, checked with the server's introspection.
//! - `failures`: bad callbacks, provider errors, timeouts, an unusable keychain, bad references.
//! - `faults`: a misbehaving token endpoint: clear errors, retries only when safe, nothing damaged.
//! - `quirks`: each provider deviation the catalog declares, against our quirks server.
//! - `races`: hundreds of refreshes from racing processes; a disconnect racing refreshes.
//! - `crashes`: kill -9 at random points; the keychain and the account file stay consistent.
//! - `integrations`: git's credential helper against a real git server, `exec`, header and SASL
//!   formats, rules and defaults, completions and man pages.
//! - `kubectl`: kubectl's exec credential plugin with the documented kubeconfig entry, against an
//!   HTTPS stand-in for a cluster that checks the bearer: the ID token, refreshed by its own expiry.
//! - `hygiene`: no secret in logs (at trace level), errors, or Keyport's files.
//! - `ssh`: a forwarded agent (`keyport ssh`) to a real OpenSSH server whose session plays the
//!   remote machine: tokens, formats, `exec`, `list` and git there; refusals and failures.
//! - `local_user`: another user of the machine: the browser's command line, a fake agent, shared
//!   or pre-created directories, umask 000, links planted at Keyport's files.
//!
//! Shared fixtures are in the `keyport-test-support` crate (`crates/keyport-test-support`).

mod activation;
mod agent;
mod connect;
mod crashes;
mod device;
mod discovery;
mod failures;
mod faults;
mod hygiene;
mod integrations;
mod kubectl;
mod local_user;
mod mcp;
mod mcp_hostile;
mod mcp_memory;
mod mcp_reach;
mod mcp_revisions;
mod python_client;
mod quirks;
mod races;
mod revoke;
mod socket_unit;
mod ssh;
mod token;
mod user_manager;
