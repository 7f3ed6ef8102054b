# METADATA
# title: Every container outside the system namespaces runs an image pinned by digest
# description: >-
#   Every container of a running or pending pod outside kube-system, kube-public and
#   kube-node-lease names its image by digest (@sha256:…), so what runs is exactly what was
#   reviewed and deployed; a tag can be moved to other software without any change to the
#   cluster.
# custom:
#   id: kubernetes.pods.images_pinned_by_digest
#   severity: low
#   controls:
#     - control: iso27001-2022:A.8.19  # Installation of software on operational systems
#       relation: supporting
#       why: Pinned images make the installed software exact; which images are approved is not tested.
#     - control: iso27001-2022:A.8.32  # Change management
#       relation: supporting
#       why: A pinned image changes only through a change to the manifest.
#   asset_kinds: [kubernetes-cluster]
#   evidence:
#     - kubernetes.pods.mutable_images
#   remediation: >-
#     Deploy images by digest (image: REPO@sha256:…), e.g. by resolving tags in the release
#     pipeline, or enforce it with an admission policy.
#   freshness: 24h
package vouch.policies.kubernetes.pods.images_pinned_by_digest

import data.vouch.lib.kubernetes

images := input.evidence["kubernetes.pods.mutable_images"]

# "namespace/pod/container (image)".
containers := [sprintf("%s (%s)", [i.container, i.image]) | some i in images] if is_array(images)

deny contains msg if msg := kubernetes.workload_problem("containers running an image by tag", containers)

allow := kubernetes.workload_clean("container running an image by tag", containers)
