//! Parts of pages rendered from the control view now shown, kept while that view is: many
//! people reading the same control page of a large fleet cost one rendering, not one each
//! (issue 20: a control page of 10,000 assets is about 80 KB of HTML made from every
//! outcome, the evidence excerpts read from the store and the control's history).
//!
//! Entries belong to one view (held here, so it is never mistaken for a later one at the same
//! address): the first request made from another view empties them. What they show is then as
//! fresh as the view itself, which the policy service makes again whenever a judgement changes
//! it and at least every minute. Only what every reader sees alike is kept: the person's
//! header, forms and CSRF tokens are added per request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::controls::ControlsView;

/// The most bytes of rendered parts kept; past it the entries are dropped and made again.
const BUDGET: usize = 32 << 20;

/// A part larger than this is rendered for each request and not kept (a control listed with
/// every result of a very large fleet).
const LARGEST: usize = 4 << 20;

/// Rendered parts of the view now shown, by key (see the module).
#[derive(Default)]
pub struct Rendered {
    kept: Mutex<Kept>,
}

#[derive(Default)]
struct Kept {
    view: Option<Arc<ControlsView>>,
    parts: HashMap<String, Arc<str>>,
    bytes: usize,
}

impl Rendered {
    /// The part `key` rendered from `view`, if it is kept.
    pub fn get(&self, view: &Arc<ControlsView>, key: &str) -> Option<Arc<str>> {
        let kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        match &kept.view {
            Some(v) if Arc::ptr_eq(v, view) => kept.parts.get(key).cloned(),
            _ => None,
        }
    }

    /// Keeps `part`, rendered from `view`, under `key`; answers it shared.
    pub fn put(&self, view: &Arc<ControlsView>, key: String, part: String) -> Arc<str> {
        let part: Arc<str> = part.into();
        if part.len() > LARGEST {
            return part;
        }
        let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        let same = kept.view.as_ref().is_some_and(|v| Arc::ptr_eq(v, view));
        if !same || kept.bytes + part.len() > BUDGET {
            kept.parts.clear();
            kept.bytes = 0;
            kept.view = Some(view.clone());
        }
        kept.bytes += part.len();
        if let Some(old) = kept.parts.insert(key, part.clone()) {
            kept.bytes -= old.len();
        }
        part
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(assets: usize) -> Arc<ControlsView> {
        Arc::new(ControlsView {
            at: "2026-05-01T10:00:00Z".parse().unwrap(),
            pack: "p".into(),
            assets,
            controls: Vec::new(),
            snapshots: Default::default(),
        })
    }

    /// A part is answered only for the view it was made from; another view empties them.
    #[test]
    fn parts_belong_to_one_view() {
        let r = Rendered::default();
        let (a, b) = (view(1), view(1));
        assert!(r.get(&a, "k").is_none());
        r.put(&a, "k".into(), "made from a".into());
        assert_eq!(r.get(&a, "k").as_deref(), Some("made from a"));
        assert!(
            r.get(&b, "k").is_none(),
            "an equal view is still another view"
        );
        r.put(&b, "j".into(), "made from b".into());
        assert!(
            r.get(&a, "k").is_none(),
            "the newer view's first part drops the older's"
        );
        assert_eq!(r.get(&b, "j").as_deref(), Some("made from b"));
        assert!(r.get(&b, "k").is_none());
    }

    /// What is kept stays within the budget: a part too large is answered but not kept, and a
    /// part that would pass the budget drops the others first.
    #[test]
    fn kept_bytes_stay_within_the_budget() {
        let r = Rendered::default();
        let v = view(1);
        let huge = "x".repeat(LARGEST + 1);
        assert_eq!(r.put(&v, "huge".into(), huge.clone()).len(), huge.len());
        assert!(r.get(&v, "huge").is_none());
        let part = "y".repeat(LARGEST);
        for i in 0..(BUDGET / LARGEST + 2) {
            r.put(&v, format!("p{i}"), part.clone());
            let kept = r.kept.lock().unwrap();
            assert!(kept.bytes <= BUDGET, "{} bytes kept", kept.bytes);
            assert_eq!(
                kept.bytes,
                kept.parts.values().map(|p| p.len()).sum::<usize>()
            );
        }
        assert!(r.get(&v, &format!("p{}", BUDGET / LARGEST + 1)).is_some());
        // The same key again replaces its part, and counts it once.
        r.put(&v, "again".into(), "12345".into());
        r.put(&v, "again".into(), "123".into());
        assert_eq!(r.get(&v, "again").as_deref(), Some("123"));
        let kept = r.kept.lock().unwrap();
        assert_eq!(
            kept.bytes,
            kept.parts.values().map(|p| p.len()).sum::<usize>()
        );
    }
}
