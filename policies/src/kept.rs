//! A pack as it is kept beside the results it gave: its Rego files and the organisation
//! settings it judged with, under one digest that covers both (the same policies with other
//! settings are another pack). The server keeps one for every pack it ever judged with; an
//! evidence bundle carries the packs of its results, so an auditor can load each again from its
//! files and re-derive every stored result offline.

use sha2::{Digest as _, Sha256};
use vouch_evidence::Snapshot;

use crate::catalog::Catalogs;
use crate::engine::{OrgConfig, PolicyResult, SnapshotView};
use crate::pack::PolicyPack;

/// The file, among a kept pack's files, holding the organisation settings it judged with.
pub const CONFIG_FILE: &str = "vouch-config.json";

/// A loaded policy pack with the settings it judges with, its digest and its files.
pub struct KeptPack {
    pack: PolicyPack,
    digest: String,
    files: Vec<(String, Vec<u8>)>,
}

impl KeptPack {
    /// Wraps a loaded pack: its digest is SHA-256 of `vouch-pack-v1\0`, the policies' digest,
    /// `\0` and the settings as JSON.
    pub fn new(pack: PolicyPack) -> Self {
        let config = serde_json::to_vec(pack.config()).expect("settings are plain JSON");
        Self::with_config_bytes(pack, config)
    }

    /// Wraps a loaded pack whose settings were kept as `config` (the bytes hashed, as they
    /// were recorded: a pack kept before a setting existed keeps its digest, the setting taking
    /// its default, which its policies did not read).
    fn with_config_bytes(pack: PolicyPack, config: Vec<u8>) -> Self {
        let mut h = Sha256::new();
        h.update(b"vouch-pack-v1\0");
        h.update(pack.digest().as_bytes());
        h.update(b"\0");
        h.update(&config);
        let digest = hex::encode(h.finalize());
        let mut files: Vec<(String, Vec<u8>)> = pack
            .files()
            .map(|(path, text)| (path.to_string(), text.as_bytes().to_vec()))
            .collect();
        files.push((CONFIG_FILE.to_string(), config));
        KeptPack {
            pack,
            digest,
            files,
        }
    }

    /// The pack kept as `files` (relative path, bytes), loaded again; refused, with the reason,
    /// when the files do not load or do not give `digest`.
    pub fn from_files(
        files: &[(String, Vec<u8>)],
        digest: &str,
        catalogs: &Catalogs,
    ) -> Result<Self, String> {
        let mut config = OrgConfig::default();
        let mut config_bytes = None;
        let mut sources = Vec::new();
        for (path, bytes) in files {
            if path == CONFIG_FILE {
                config = serde_json::from_slice(bytes).map_err(|e| format!("{path}: {e}"))?;
                config_bytes = Some(bytes.clone());
            } else {
                let text =
                    String::from_utf8(bytes.clone()).map_err(|_| format!("{path}: not UTF-8"))?;
                sources.push((path.clone(), text));
            }
        }
        let mut pack = PolicyPack::from_sources(sources, catalogs).map_err(|e| e.to_string())?;
        pack.set_config(config).map_err(|e| e.to_string())?;
        let kept = match config_bytes {
            Some(bytes) => KeptPack::with_config_bytes(pack, bytes),
            None => KeptPack::new(pack),
        };
        if kept.digest != digest {
            return Err(format!(
                "its files give digest {}, not the recorded {digest}",
                kept.digest
            ));
        }
        Ok(kept)
    }

    /// The digest (hex).
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// The files (relative path, bytes), the settings among them as [`CONFIG_FILE`].
    pub fn files(&self) -> &[(String, Vec<u8>)] {
        &self.files
    }

    /// The policies.
    pub fn pack(&self) -> &PolicyPack {
        &self.pack
    }

    /// Every policy's result for `snapshot`.
    pub fn judge(&self, snapshot: &Snapshot) -> Vec<PolicyResult> {
        self.pack.evaluate(&SnapshotView::from(snapshot))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_pack_loads_again_from_its_files_and_other_settings_are_another_pack() {
        let catalogs = Catalogs::builtin();
        let kept = KeptPack::new(PolicyPack::builtin());
        let again = KeptPack::from_files(kept.files(), kept.digest(), &catalogs).unwrap();
        assert_eq!(again.digest(), kept.digest());

        let mut files = kept.files().to_vec();
        let settings = files.iter_mut().find(|(p, _)| p == CONFIG_FILE).unwrap();
        settings.1 = br#"{"pii_tag_keys":["pii"]}"#.to_vec();
        let err = KeptPack::from_files(&files, kept.digest(), &catalogs)
            .err()
            .unwrap();
        assert!(err.contains("not the recorded"), "{err}");

        files.retain(|(p, _)| p != CONFIG_FILE);
        files[0].1 = b"package broken\n\nallow := \n".to_vec();
        assert!(KeptPack::from_files(&files, kept.digest(), &catalogs).is_err());
    }

    /// A pack kept before the settings had parameters keeps its digest: the settings' bytes
    /// are hashed as they were recorded. Other parameters are another pack.
    #[test]
    fn settings_kept_before_parameters_keep_their_digest() {
        let catalogs = Catalogs::builtin();
        let kept = KeptPack::new(PolicyPack::builtin());
        let mut files = kept.files().to_vec();
        let old = br#"{"pii_tag_keys":[],"allowed_jurisdictions":[],"roles":{}}"#.to_vec();
        files.iter_mut().find(|(p, _)| p == CONFIG_FILE).unwrap().1 = old.clone();
        let mut h = Sha256::new();
        h.update(b"vouch-pack-v1\0");
        h.update(kept.pack().digest().as_bytes());
        h.update(b"\0");
        h.update(&old);
        let recorded = hex::encode(h.finalize());
        let again = KeptPack::from_files(&files, &recorded, &catalogs).unwrap();
        assert_eq!(again.digest(), recorded);
        assert_eq!(
            again.pack().config().parameters.rds_backup_retention_days,
            7
        );

        let mut pack = PolicyPack::builtin();
        let mut config = OrgConfig::default();
        config.parameters.rds_backup_retention_days = 14;
        pack.set_config(config).unwrap();
        assert_ne!(KeptPack::new(pack).digest(), kept.digest());
    }

    /// A pack kept before mappings carried a relation lists bare control ids (2025 ones too):
    /// it loads again from its files and gives the digest it was recorded with.
    #[test]
    fn a_pack_kept_with_bare_control_ids_loads_again() {
        let catalogs = Catalogs::builtin();
        let old = crate::testing::module(
            "host.test.old",
            "low",
            "iso27001-2022:A.8.24, iso27701-2019:A.7.4.7, iso27701-2025:A.1.4.8, iso27701-2025:A.3.26",
            "host.test.flag",
            "allow := \"ok\" if true\ndeny contains \"no\" if false",
        );
        let pack = PolicyPack::from_sources([("old.rego".to_string(), old)], &catalogs).unwrap();
        let kept = KeptPack::new(pack);
        let again = KeptPack::from_files(kept.files(), kept.digest(), &catalogs).unwrap();
        assert_eq!(again.digest(), kept.digest());
        let policy = again.pack().policy("host.test.old").unwrap();
        assert_eq!(policy.controls.len(), 4);
        assert!(policy.mappings.iter().all(|m| m.relation.is_none()));
    }
}
