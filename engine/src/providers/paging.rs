//! Paging through list endpoints until `max_items` are collected or the
//! provider has no more. A page that fails fails the step: a partial list
//! passed on as if it were whole would be a silent wrong answer.

use serde::Serialize;
use serde_json::Value;

/// Largest page any of the paging styles asks for.
pub const PAGE_SIZE: usize = 100;
/// The default and the largest `max_items`.
pub const DEFAULT_MAX_ITEMS: i64 = 100;
pub const MAX_ITEMS: i64 = 10_000;

#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum Paging {
    /// Stripe: items in `data`, `has_more`, the next page starts after the
    /// last item's id (`starting_after`); the page size is `limit`.
    StartingAfter,
    /// GitHub: the body is the page; the next page's URL is the `Link`
    /// header's `rel="next"`; the page size is `per_page`.
    LinkHeader,
    /// A cursor in the body (`response_metadata.next_cursor`), sent back
    /// as `param`; `size_param` sets the page size.
    Cursor {
        items: &'static str,
        next: &'static str,
        param: &'static str,
        size_param: &'static str,
    },
}

/// What to ask for next, after a page.
#[derive(Clone, Debug, PartialEq)]
pub enum Next {
    Done,
    /// Add these query parameters to the first page's URL.
    Query(Vec<(String, String)>),
    /// Request this URL as it is (it came from the provider).
    Url(String),
}

impl Paging {
    /// The query parameter that sets the page size.
    pub fn size_param(self) -> &'static str {
        match self {
            Paging::StartingAfter => "limit",
            Paging::LinkHeader => "per_page",
            Paging::Cursor { size_param, .. } => size_param,
        }
    }

    /// The items of a page, or why the page is not what was expected.
    pub fn items(self, body: &Value) -> Result<Vec<Value>, String> {
        let found = match self {
            Paging::StartingAfter => body.get("data"),
            Paging::LinkHeader => Some(body),
            Paging::Cursor { items, .. } => body.pointer(items),
        };
        match found {
            Some(Value::Array(items)) => Ok(items.clone()),
            _ => Err("the response holds no list of items".into()),
        }
    }

    /// Where the page after `body` (with `link`, the `Link` header) is.
    pub fn next(self, body: &Value, link: Option<&str>, items: &[Value]) -> Result<Next, String> {
        match self {
            Paging::StartingAfter => {
                if body.get("has_more").and_then(Value::as_bool) != Some(true) {
                    return Ok(Next::Done);
                }
                let last = items
                    .last()
                    .and_then(|item| item.get("id"))
                    .and_then(Value::as_str)
                    .ok_or("the page says it has more but its last item has no id")?;
                Ok(Next::Query(vec![("starting_after".into(), last.into())]))
            }
            Paging::LinkHeader => Ok(link.and_then(next_link).map_or(Next::Done, Next::Url)),
            Paging::Cursor { next, param, .. } => {
                match body
                    .pointer(next)
                    .and_then(Value::as_str)
                    .filter(|c| !c.is_empty())
                {
                    Some(cursor) => Ok(Next::Query(vec![(param.into(), cursor.into())])),
                    None => Ok(Next::Done),
                }
            }
        }
    }
}

/// The `rel="next"` target of a `Link` header (RFC 8288).
pub fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|link| {
        let (target, params) = link.split_once(';')?;
        let is_next = params.split(';').any(|param| {
            let param = param.trim().replace(' ', "");
            param == "rel=\"next\"" || param == "rel=next"
        });
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        is_next.then(|| target.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn link_headers_name_the_next_page() {
        let header = r#"<https://api.github.com/repositories/1/issues?page=2>; rel="next", <https://api.github.com/repositories/1/issues?page=5>; rel="last""#;
        assert_eq!(
            next_link(header).as_deref(),
            Some("https://api.github.com/repositories/1/issues?page=2")
        );
        assert_eq!(next_link(r#"<https://x/?page=1>; rel="prev""#), None);
    }

    #[test]
    fn stripe_pages_continue_after_the_last_id() {
        let page = json!({"data": [{"id": "cus_1"}, {"id": "cus_2"}], "has_more": true});
        let items = Paging::StartingAfter.items(&page).unwrap();
        assert_eq!(
            Paging::StartingAfter.next(&page, None, &items).unwrap(),
            Next::Query(vec![("starting_after".into(), "cus_2".into())])
        );
        let last = json!({"data": [], "has_more": false});
        assert_eq!(
            Paging::StartingAfter.next(&last, None, &[]).unwrap(),
            Next::Done
        );
        assert!(Paging::StartingAfter.items(&json!({"error": "x"})).is_err());
    }
}
