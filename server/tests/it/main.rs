//! The server's integration tests, in one binary (one link of the whole server, not one per
//! file): the portal as `countersign serve` builds it, driven over HTTP, beside real
//! servers where the portal talks to one (oidc-provider, maildev).

mod support;

mod archive;
mod audit;
mod evidence;
mod forged_tokens;
mod gxp;
mod http;
mod installation;
mod manifestations;
mod notifications;
mod oidc;
mod openapi;
mod portal;
mod reauthentication;
mod reviews;
mod seed;
mod system_trail;
