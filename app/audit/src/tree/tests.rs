use super::*;
use proptest::prelude::*;
use tlog_tiles::{record_hash, stored_hashes, tree_hash, HashReader};

/// The leaves and roots of RFC 6962's reference tests, as published with
/// transparency-dev/merkle (`testonly/reference_test.go`) and Certificate Transparency's
/// `merkle_tree_test.cc`.
const LEAVES: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];
const ROOTS: [&str; 8] = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

#[test]
fn the_root_at_every_size_is_rfc_6962s() {
    let mut frontier = Frontier::default();
    assert_eq!(
        hex::encode(frontier.root().0),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "the empty tree hashes to SHA-256 of nothing"
    );
    for (leaf, root) in LEAVES.iter().zip(ROOTS) {
        frontier.push(record_hash(&hex::decode(leaf).unwrap()));
        assert_eq!(
            hex::encode(frontier.root().0),
            root,
            "size {}",
            frontier.size()
        );
    }
}

/// Every stored hash of a tree, as Go's tlog keeps them: what `tlog_tiles` reads to
/// compute roots and proofs the reference way.
struct StoredHashes(Vec<Hash>);

impl HashReader for StoredHashes {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
        Ok(indexes.iter().map(|&i| self.0[i as usize]).collect())
    }
}

fn both_ways(leaves: &[Vec<u8>]) -> (Frontier, StoredHashes) {
    let mut frontier = Frontier::default();
    let mut stored = StoredHashes(Vec::new());
    for (n, leaf) in leaves.iter().enumerate() {
        let new = stored_hashes(n as u64, leaf, &stored).unwrap();
        stored.0.extend(new);
        frontier.push(record_hash(leaf));
    }
    (frontier, stored)
}

proptest! {
    #[test]
    fn the_frontier_agrees_with_the_reference_tree_and_its_consistency_proofs(
        leaves in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..8), 1..70),
        cut in any::<prop::sample::Index>(),
    ) {
        let (frontier, stored) = both_ways(&leaves);
        let n = leaves.len() as u64;
        prop_assert_eq!(frontier.root(), tree_hash(n, &stored).unwrap());
        // A frontier kept as hex (a head, a bundle's start) reads back as it was.
        let old = cut.index(leaves.len()) as u64 + 1;
        let (earlier, _) = both_ways(&leaves[..old as usize]);
        let proof = tlog_tiles::prove_tree(n, old, &stored).unwrap();
        prop_assert!(tlog_tiles::check_tree(&proof, n, frontier.root(), old, earlier.root()).is_ok());
        prop_assert_eq!(Frontier::from_hex(earlier.size(), &earlier.to_hex()), Ok(earlier.clone()));
    }
}

#[test]
fn a_frontier_that_cannot_be_that_size_is_refused() {
    let leaf = record_hash(b"x");
    assert!(Frontier::from_parts(3, vec![leaf]).is_none());
    assert!(Frontier::from_parts(3, vec![leaf, leaf]).is_some());
    assert!(Frontier::from_parts(0, vec![]).is_some());
}
