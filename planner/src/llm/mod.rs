//! The language-model planner's halves that need no network: the
//! briefings it gets (instructions, the retrieved part of the catalogue,
//! the account's connection ids, the offline planner's answer to start
//! from) and the checking of its answers (allow-list and validator,
//! problems named for a repair). The conversation itself runs in the
//! domain, over async-openai.

mod change;
mod prompt;
mod reply;

pub use change::check_change;
pub use prompt::{Briefing, brief, brief_change, change_schema, repair_request, reply_schema};
pub use reply::check;
