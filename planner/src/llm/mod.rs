//! The language-model planner's halves that need no network: the
//! briefing it gets (instructions, the retrieved part of the catalogue,
//! the account's connection ids, the offline draft) and the checking of
//! its reply (allow-list and validator, problems named for a repair).
//! The conversation itself runs in the domain, over async-openai.

mod prompt;
mod reply;

pub use prompt::{Briefing, brief, repair_request, reply_schema};
pub use reply::check;
