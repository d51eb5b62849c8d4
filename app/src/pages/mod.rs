//! One module per page; each is a route in [`crate::App`].

mod access_review;
mod groups;
mod history;
mod home;
mod inbox;
mod mine;
mod not_found;
mod notifications;
mod record;
mod sign_in;
mod signing;
mod trail_review;
mod version;
mod versions;

pub use access_review::AccessReviewPage;
pub use groups::GroupsPage;
pub use history::HistoryPage;
pub use home::HomePage;
pub use inbox::InboxPage;
pub use mine::MinePage;
pub use not_found::NotFound;
pub use notifications::NotificationsPage;
pub use record::SignedRecordPage;
pub use sign_in::SignInPage;
pub use signing::SigningPage;
pub use trail_review::TrailReviewPage;
pub use version::VersionPage;
pub use versions::VersionsPage;

/// The server functions that write (a decision chosen, a signature, a message sent again):
/// the server counts them against a client's decisions rate limit. A new one that writes
/// belongs here.
pub const WRITING_ENDPOINTS: [&str; 3] = [
    <signing::PrepareSignature as leptos::server_fn::ServerFn>::PATH,
    <signing::Sign as leptos::server_fn::ServerFn>::PATH,
    <notifications::ResendNotification as leptos::server_fn::ServerFn>::PATH,
];
