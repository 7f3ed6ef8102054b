//! Every evidence id the collectors declare is judged (issue 16): read by some policy of the
//! built-in pack, or marked context-only in its declaration with the reason. An id collected
//! and never judged fails here until a policy reads it or its declaration says why none does.

use std::collections::BTreeSet;

use vouch_policies::PolicyPack;

#[test]
fn every_declared_evidence_id_is_judged_or_context_only() {
    let pack = PolicyPack::builtin();
    let read: BTreeSet<&str> = pack
        .policies()
        .iter()
        .flat_map(|p| p.evidence.iter().map(String::as_str))
        .collect();
    let specs = vouch_collectors::all_specs();
    let mut problems = Vec::new();
    for s in &specs {
        match (read.contains(s.id), s.context_only) {
            (false, None) => problems.push(format!(
                "{}: no policy reads it and its declaration does not mark it context_only",
                s.id
            )),
            (true, Some(_)) => problems.push(format!(
                "{}: marked context_only, yet a policy reads it: remove the mark",
                s.id
            )),
            (_, Some(why)) if why.trim().len() < 10 => {
                problems.push(format!("{}: context_only must say why", s.id))
            }
            _ => {}
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let context = specs.iter().filter(|s| s.context_only.is_some()).count();
    assert!(
        context * 4 < specs.len(),
        "{context} of {} ids are context only: most evidence should be judged",
        specs.len()
    );
}
