# METADATA
# title: An SBOM is imported for each scanned artifact
# description: >-
#   Every artifact the imported vulnerability reports are about (an image Trivy scanned, a
#   directory Grype scanned, an application a CycloneDX VEX document describes) also has a
#   CycloneDX SBOM among the imported reports, naming it the same way (`metadata.component`,
#   `name@version`): the inventory of what it is made of, against which new advisories can be
#   matched later.
# custom:
#   id: import.sbom.present_for_each_artifact
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.5.9  # Inventory of information and other associated assets
#       relation: supporting
#       why: Each scanned artifact's software components are inventoried in an SBOM; owners and the rest of the inventory are not judged.
#     - control: iso27001-2022:A.8.8  # Management of technical vulnerabilities
#       relation: supporting
#       why: An SBOM per artifact lets new vulnerabilities be matched to what is deployed without scanning again.
#   asset_kinds: [import]
#   evidence:
#     - import.sbom.artifacts
#     - import.sbom.scanned_artifacts
#   remediation: >-
#     Produce a CycloneDX SBOM of each artifact listed where it is built (`trivy image --format
#     cyclonedx`, `syft -o cyclonedx-json`, `cyclonedx-py`) and write it where the import reads,
#     naming the artifact as the scan does.
#   freshness: 7d
package vouch.policies.import.sbom.present_for_each_artifact

import data.vouch.lib

described := input.evidence["import.sbom.artifacts"]

scanned := input.evidence["import.sbom.scanned_artifacts"]

not_applicable := "no SBOM and no vulnerability report is imported" if {
	count(described) == 0
	count(scanned) == 0
}

missing := [a | some a in scanned; not a in described]

deny contains sprintf("%d scanned artifact(s) have no imported SBOM: %s", [count(missing), lib.names(missing)]) if count(missing) > 0

allow := sprintf("each of the %d scanned artifact(s) has an SBOM (%d SBOM(s) imported)", [count(scanned), count(described)]) if {
	count(missing) == 0
	count(described) > 0
}
