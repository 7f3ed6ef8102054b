//! Parts of pages rendered from the control view now shown, kept while that view is: many
//! people reading the same control page of a large fleet cost one rendering, not one each
//! (issue 20: a control page of 10,000 assets is about 80 KB of HTML made from every
//! outcome, the evidence excerpts read from the store and the control's history).
//!
//! Entries belong to one view, named by a weak reference: it keeps the view's allocation, so a
//! later view is never mistaken for it at the same address, without keeping the view itself
//! alive once the service has replaced it. The first request made from another view empties
//! them. What they show is then as
//! fresh as the view itself, which the policy service makes again whenever a judgement changes
//! it and at least every minute. Only what every reader sees alike is kept: the person's
//! header, forms and CSRF tokens are added per request.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, Weak};

use tokio::sync::OnceCell;

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
    view: Weak<ControlsView>,
    /// Each part once made; readers arriving while it is made wait for that one rendering
    /// rather than each making their own (fifty readers of a page a new view has not yet
    /// rendered would otherwise render it fifty times at once).
    parts: HashMap<String, Arc<OnceCell<Arc<str>>>>,
    bytes: usize,
}

impl Kept {
    /// Whether the parts kept are `view`'s.
    fn holds(&self, view: &Arc<ControlsView>) -> bool {
        std::ptr::eq(self.view.as_ptr(), Arc::as_ptr(view))
    }
}

impl Rendered {
    /// The part `key` of `view`: the one kept, else made by `render` (once, however many ask
    /// at the same time) and kept when it fits the budget. A rendering that fails is answered
    /// to its reader, and a reader that waited for it renders again.
    pub async fn get_or_render<E, F>(
        &self,
        view: &Arc<ControlsView>,
        key: &str,
        render: impl FnOnce() -> F,
    ) -> Result<Arc<str>, E>
    where
        F: Future<Output = Result<String, E>>,
    {
        let cell = {
            let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
            if !kept.holds(view) {
                kept.parts.clear();
                kept.bytes = 0;
                kept.view = Arc::downgrade(view);
            }
            kept.parts.entry(key.to_string()).or_default().clone()
        };
        let mut made = false;
        let part = cell
            .get_or_try_init(|| async {
                made = true;
                render().await.map(Arc::<str>::from)
            })
            .await?
            .clone();
        if made {
            let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
            let mine =
                kept.holds(view) && kept.parts.get(key).is_some_and(|c| Arc::ptr_eq(c, &cell));
            if mine {
                if part.len() > LARGEST || kept.bytes + part.len() > BUDGET {
                    // Not kept: too large, or past the budget (the others are dropped so
                    // that the parts read most are made again and kept).
                    kept.parts.remove(key);
                    if part.len() <= LARGEST {
                        kept.parts.clear();
                        kept.bytes = 0;
                    }
                } else {
                    kept.bytes += part.len();
                }
            }
        }
        Ok(part)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn view(assets: usize) -> Arc<ControlsView> {
        Arc::new(ControlsView {
            at: "2026-05-01T10:00:00Z".parse().unwrap(),
            pack: "p".into(),
            assets,
            controls: Vec::new(),
            snapshots: Default::default(),
        })
    }

    async fn part(r: &Rendered, v: &Arc<ControlsView>, key: &str, text: &str) -> String {
        r.get_or_render::<(), _>(v, key, || async { Ok(text.to_string()) })
            .await
            .unwrap()
            .to_string()
    }

    /// A part is made once for its view and answered to every reader of that view; another
    /// view, even an equal one, has its parts made again and drops the older view's.
    #[tokio::test]
    async fn parts_belong_to_one_view() {
        let r = Rendered::default();
        let (a, b) = (view(1), view(1));
        assert_eq!(part(&r, &a, "k", "made from a").await, "made from a");
        assert_eq!(part(&r, &a, "k", "again").await, "made from a", "kept");
        assert_eq!(
            Arc::strong_count(&a),
            1,
            "the view is not kept alive by its parts"
        );
        assert_eq!(part(&r, &b, "k", "made from b").await, "made from b");
        assert_eq!(part(&r, &a, "k", "a once more").await, "a once more");
    }

    /// Readers arriving together wait for one rendering; a failed rendering is answered to
    /// its reader and the next one renders again.
    #[tokio::test]
    async fn readers_arriving_together_share_one_rendering() {
        let r = Arc::new(Rendered::default());
        let v = view(1);
        let renders = Arc::new(AtomicUsize::new(0));
        let mut readers = Vec::new();
        for _ in 0..50 {
            let (r, v, renders) = (r.clone(), v.clone(), renders.clone());
            readers.push(tokio::spawn(async move {
                r.get_or_render::<(), _>(&v, "page", || async {
                    renders.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    Ok("the page".to_string())
                })
                .await
                .unwrap()
            }));
        }
        for reader in readers {
            assert_eq!(&*reader.await.unwrap(), "the page");
        }
        assert_eq!(renders.load(Ordering::SeqCst), 1);
        let failed = r
            .get_or_render::<&str, _>(&v, "broken", || async { Err("store down") })
            .await;
        assert_eq!(failed.unwrap_err(), "store down");
        assert_eq!(
            part(&r, &v, "broken", "made after all").await,
            "made after all"
        );
    }

    /// What is kept stays within the budget: a part too large is answered but not kept, and a
    /// part that would pass the budget drops the others.
    #[tokio::test]
    async fn kept_bytes_stay_within_the_budget() {
        let r = Rendered::default();
        let v = view(1);
        let huge = "x".repeat(LARGEST + 1);
        assert_eq!(part(&r, &v, "huge", &huge).await.len(), huge.len());
        assert_eq!(
            part(&r, &v, "huge", "small now").await,
            "small now",
            "not kept"
        );
        let big = "y".repeat(LARGEST);
        for i in 0..(BUDGET / LARGEST + 2) {
            part(&r, &v, &format!("p{i}"), &big).await;
            let kept = r.kept.lock().unwrap();
            assert!(kept.bytes <= BUDGET, "{} bytes kept", kept.bytes);
            let counted: usize = kept
                .parts
                .values()
                .filter_map(|c| c.get())
                .map(|p| p.len())
                .sum();
            assert_eq!(kept.bytes, counted);
        }
    }
}
