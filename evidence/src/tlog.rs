//! The Merkle tree of a transparency log: the hashing of RFC 9162 (Certificate Transparency
//! v2, the same as RFC 6962's), inclusion and consistency proofs, and their verification.
//!
//! Leaves are hashed `SHA-256(0x00 || entry)` and interior nodes `SHA-256(0x01 || left ||
//! right)`, so a leaf can never pass for a node. The tree of `n` leaves splits at the largest
//! power of two below `n`: its left part is always a perfect subtree. A store keeps the hash of
//! every perfect subtree as it completes ([`Frontier::push`] names them), and every hash a
//! proof needs is the hash of a range of leaves made of a few of them ([`range_nodes`],
//! [`fold_range`]), so proofs cost a handful of lookups however large the log grows.
//!
//! Pure: no I/O. The verifier functions are what an agent and `vouch verify` run.

use sha2::{Digest as _, Sha256};

/// A SHA-256 tree hash.
pub type Hash = [u8; 32];

/// Why a proof did not verify.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The index is not a leaf of a tree of that size.
    #[error("leaf {index} is not in a tree of {size} leaves")]
    IndexBeyondSize {
        /// The leaf index.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// The older tree is larger than the newer one.
    #[error("a tree of {old} leaves cannot precede one of {new}")]
    SizesOutOfOrder {
        /// The size said to be older.
        old: u64,
        /// The size said to be newer.
        new: u64,
    },
    /// The proof has the wrong number of hashes for the sizes it is about.
    #[error("the proof has {got} hashes where {want} are needed")]
    WrongLength {
        /// Hashes in the proof.
        got: usize,
        /// Hashes the sizes call for.
        want: usize,
    },
    /// A consistency proof from the empty tree: every tree extends it, so such a proof
    /// proves nothing and none is made or accepted.
    #[error("a consistency proof from the empty tree proves nothing")]
    FromEmptyTree,
    /// The hashes do not lead to the root (or roots) given.
    #[error("the proof does not lead to the root it is checked against")]
    RootMismatch,
}

/// The hash of a leaf holding `entry`.
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(entry);
    h.finalize().into()
}

/// The hash of an interior node.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root of the empty tree: SHA-256 of nothing.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// The largest power of two strictly below `n` (`n` ≥ 2).
fn split(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// A perfect subtree: `2^level` leaves starting at leaf `index << level`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId {
    /// Its height: 0 for a leaf.
    pub level: u8,
    /// Its position among the subtrees of its level.
    pub index: u64,
}

/// The perfect subtrees, left to right and of decreasing size, whose fold
/// ([`fold_range`]) is the hash of leaves `[start, end)` as RFC 9162 defines it for the ranges
/// its proofs use (those whose start is a multiple of the largest power of two not above their
/// length). Empty for an empty range.
pub fn range_nodes(start: u64, end: u64) -> Vec<NodeId> {
    let mut out = Vec::new();
    let mut start = start;
    while start < end {
        let n = end - start;
        let k = if n.is_power_of_two() { n } else { split(n) };
        let level = k.trailing_zeros() as u8;
        debug_assert_eq!(start % k, 0, "a range a proof uses starts aligned");
        out.push(NodeId {
            level,
            index: start >> level,
        });
        start += k;
    }
    out
}

/// The hash of a range from the hashes of its [`range_nodes`], in that order: the rightmost
/// two are joined first. `None` for no hashes.
pub fn fold_range(hashes: &[Hash]) -> Option<Hash> {
    let (last, rest) = hashes.split_last()?;
    Some(rest.iter().rev().fold(*last, |acc, h| node_hash(h, &acc)))
}

/// The leaf ranges whose hashes make the inclusion proof of leaf `index` in a tree of `size`
/// leaves, in proof order (nearest the leaf first): RFC 9162 §2.1.3.1.
pub fn inclusion_ranges(index: u64, size: u64) -> Result<Vec<(u64, u64)>, ProofError> {
    if index >= size {
        return Err(ProofError::IndexBeyondSize { index, size });
    }
    let mut out = Vec::new();
    let (mut start, mut end, mut m) = (0u64, size, index);
    while end - start > 1 {
        let k = split(end - start);
        if m < k {
            out.push((start + k, end));
            end = start + k;
        } else {
            out.push((start, start + k));
            start += k;
            m -= k;
        }
    }
    out.reverse();
    Ok(out)
}

/// The leaf ranges whose hashes make the consistency proof from a tree of `old` leaves to one
/// of `new`, in proof order: RFC 9162 §2.1.4.1. Empty when `old` equals `new`; refused from
/// the empty tree.
pub fn consistency_ranges(old: u64, new: u64) -> Result<Vec<(u64, u64)>, ProofError> {
    if old > new {
        return Err(ProofError::SizesOutOfOrder { old, new });
    }
    if old == 0 {
        return Err(ProofError::FromEmptyTree);
    }
    let mut out = Vec::new();
    if old == new {
        return Ok(out);
    }
    // SUBPROOF(m, D[start:end], whole): `whole` while the range still starts the old tree.
    let (mut start, mut end, mut m, mut whole) = (0u64, new, old, true);
    loop {
        let n = end - start;
        if m == n {
            if !whole {
                out.push((start, end));
            }
            break;
        }
        let k = split(n);
        if m <= k {
            out.push((start + k, end));
            end = start + k;
        } else {
            out.push((start, start + k));
            start += k;
            m -= k;
            whole = false;
        }
    }
    out.reverse();
    Ok(out)
}

/// Checks that `leaf` is leaf `index` of the tree of `size` leaves whose root is `root`:
/// RFC 9162 §2.1.3.2.
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::IndexBeyondSize { index, size });
    }
    let want = inclusion_ranges(index, size)?.len();
    if proof.len() != want {
        return Err(ProofError::WrongLength {
            got: proof.len(),
            want,
        });
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if s == 0 {
            return Err(ProofError::RootMismatch);
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    if s == 0 && &r == root {
        Ok(())
    } else {
        Err(ProofError::RootMismatch)
    }
}

/// Checks that the tree of `old` leaves with root `old_root` is a prefix of the tree of `new`
/// leaves with root `new_root`: RFC 9162 §2.1.4.2. Two trees of the same size are consistent
/// when their roots are equal (and the proof empty); a proof from the empty tree is refused
/// (it would prove nothing).
pub fn verify_consistency(
    old: u64,
    new: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    let want = consistency_ranges(old, new)?.len();
    if proof.len() != want {
        return Err(ProofError::WrongLength {
            got: proof.len(),
            want,
        });
    }
    if old == new {
        return if old_root == new_root {
            Ok(())
        } else {
            Err(ProofError::RootMismatch)
        };
    }
    // When the old tree is a perfect subtree its root starts the path.
    let path: Vec<Hash> = if old.is_power_of_two() {
        std::iter::once(*old_root)
            .chain(proof.iter().copied())
            .collect()
    } else {
        proof.to_vec()
    };
    let (mut f, mut s) = (old - 1, new - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let (mut fr, mut sr) = (path[0], path[0]);
    for c in &path[1..] {
        if s == 0 {
            return Err(ProofError::RootMismatch);
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    if &fr == old_root && &sr == new_root && s == 0 {
        Ok(())
    } else {
        Err(ProofError::RootMismatch)
    }
}

/// The right edge of a log: the perfect subtrees its leaves make, largest first, enough to
/// append a leaf and compute the root without reading the rest (`O(log n)` hashes).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    /// The perfect subtrees of `size`, largest (leftmost) first.
    nodes: Vec<Hash>,
}

impl Frontier {
    /// The frontier of an empty log.
    pub fn new() -> Self {
        Frontier::default()
    }

    /// The frontier of a log of `size` leaves from the hashes of its [`Frontier::nodes_of`]
    /// subtrees; `None` when their number does not fit the size.
    pub fn from_nodes(size: u64, nodes: Vec<Hash>) -> Option<Self> {
        (nodes.len() == size.count_ones() as usize).then_some(Frontier { size, nodes })
    }

    /// The perfect subtrees a log of `size` leaves ends with, largest first: what
    /// [`Frontier::from_nodes`] needs.
    pub fn nodes_of(size: u64) -> Vec<NodeId> {
        range_nodes(0, size)
    }

    /// How many leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The root hash.
    pub fn root(&self) -> Hash {
        fold_range(&self.nodes).unwrap_or_else(empty_root)
    }

    /// Appends a leaf (its hash); answers every perfect subtree this completes, the leaf
    /// itself first: what a store keeps so that proofs can be made later.
    pub fn push(&mut self, leaf: Hash) -> Vec<(NodeId, Hash)> {
        let index = self.size;
        let mut done = vec![(NodeId { level: 0, index }, leaf)];
        let mut hash = leaf;
        let mut level = 0u8;
        let mut i = index;
        while i & 1 == 1 {
            let left = self.nodes.pop().expect("a left sibling for every set bit");
            hash = node_hash(&left, &hash);
            level += 1;
            i >>= 1;
            done.push((NodeId { level, index: i }, hash));
        }
        self.nodes.push(hash);
        self.size += 1;
        done
    }
}

/// The hash of every perfect subtree of a list of leaf hashes, looked up by [`NodeId`]: a
/// store in memory, for tests and small tools.
pub fn node_of(leaves: &[Hash], id: NodeId) -> Option<Hash> {
    let width = 1u64.checked_shl(u32::from(id.level))?;
    let start = id.index.checked_mul(width)?;
    let end = start.checked_add(width)?;
    if end > leaves.len() as u64 {
        return None;
    }
    Some(subtree(&leaves[start as usize..end as usize]))
}

fn subtree(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => empty_root(),
        1 => leaves[0],
        n => {
            let k = split(n as u64) as usize;
            node_hash(&subtree(&leaves[..k]), &subtree(&leaves[k..]))
        }
    }
}

/// The root of a list of leaf hashes (RFC 9162's MTH).
pub fn root_of(leaves: &[Hash]) -> Hash {
    subtree(leaves)
}

/// The hashes of `ranges` over a list of leaf hashes: a proof made in memory.
pub fn proof_of(leaves: &[Hash], ranges: &[(u64, u64)]) -> Vec<Hash> {
    ranges
        .iter()
        .map(|&(a, b)| subtree(&leaves[a as usize..b as usize]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    #[test]
    fn the_frontier_gives_the_root_of_every_size_and_names_each_completed_subtree() {
        let all = leaves(70);
        let mut f = Frontier::new();
        assert_eq!(f.root(), empty_root());
        let mut stored = std::collections::BTreeMap::new();
        for (i, l) in all.iter().enumerate() {
            for (id, h) in f.push(*l) {
                assert_eq!(Some(h), node_of(&all, id), "{id:?}");
                assert!(stored.insert(id, h).is_none(), "{id:?} completed twice");
            }
            let size = i as u64 + 1;
            assert_eq!(f.root(), root_of(&all[..=i]), "size {size}");
            // The frontier can be rebuilt from what a store kept.
            let nodes = Frontier::nodes_of(size)
                .iter()
                .map(|id| stored[id])
                .collect();
            assert_eq!(Frontier::from_nodes(size, nodes), Some(f.clone()));
        }
        // Every perfect subtree once: n leaves make 2n - popcount(n) of them.
        assert_eq!(stored.len() as u64, 2 * 70 - 70u64.count_ones() as u64);
    }

    #[test]
    fn proofs_made_from_stored_subtrees_verify_and_any_change_fails() {
        let all = leaves(37);
        for size in 1..=37u64 {
            let root = root_of(&all[..size as usize]);
            for index in 0..size {
                let ranges = inclusion_ranges(index, size).unwrap();
                // From a handful of stored subtrees, as a store makes it.
                let proof: Vec<Hash> = ranges
                    .iter()
                    .map(|&(a, b)| {
                        let ids = range_nodes(a, b);
                        assert!(ids.len() <= 64);
                        let hs: Vec<Hash> =
                            ids.iter().map(|id| node_of(&all, *id).unwrap()).collect();
                        fold_range(&hs).unwrap()
                    })
                    .collect();
                assert_eq!(proof, proof_of(&all, &ranges));
                let leaf = all[index as usize];
                verify_inclusion(&leaf, index, size, &proof, &root).unwrap();
                if let Some(first) = proof.first() {
                    let mut bad = proof.clone();
                    bad[0] = leaf_hash(first);
                    assert!(verify_inclusion(&leaf, index, size, &bad, &root).is_err());
                }
                if size > 1 {
                    let other = (index + 1) % size;
                    assert!(verify_inclusion(&leaf, other, size, &proof, &root).is_err());
                }
            }
            assert_eq!(consistency_ranges(0, size), Err(ProofError::FromEmptyTree));
            for old in 1..=size {
                let ranges = consistency_ranges(old, size).unwrap();
                let proof = proof_of(&all, &ranges);
                let old_root = root_of(&all[..old as usize]);
                verify_consistency(old, size, &old_root, &root, &proof).unwrap();
                if old > 0 && old < size {
                    // A forked history: the old tree with one leaf changed.
                    let mut forked = all[..old as usize].to_vec();
                    forked[0] = leaf_hash(b"rewritten");
                    let forked_root = root_of(&forked);
                    assert_eq!(
                        verify_consistency(old, size, &forked_root, &root, &proof),
                        Err(ProofError::RootMismatch)
                    );
                }
            }
        }
    }

    #[test]
    fn sizes_out_of_order_and_indexes_beyond_the_tree_are_refused() {
        assert_eq!(
            consistency_ranges(5, 4),
            Err(ProofError::SizesOutOfOrder { old: 5, new: 4 })
        );
        assert_eq!(
            inclusion_ranges(4, 4),
            Err(ProofError::IndexBeyondSize { index: 4, size: 4 })
        );
        let r = empty_root();
        assert!(verify_inclusion(&r, 0, 0, &[], &r).is_err());
    }
}
