# Shared rules of the built-in Kubernetes policies. Not a policy (no metadata): policies use it
# with `import data.vouch.lib.kubernetes`. It reads no input; policies pass it the facts they
# list.
package vouch.lib.kubernetes

import data.vouch.lib

# Namespaces of the control plane and its add-ons. Their pods (kube-proxy, CNI and CSI agents)
# need node access by design, as Pod Security Admission's guidance acknowledges by exempting
# them; workload and namespace policies leave them out and say how many they left out. The
# organisation sets them (parameter kubernetes_system_namespaces; default kube-system,
# kube-public and kube-node-lease).
system_namespaces := {n | some n in data.vouch.config.parameters.kubernetes_system_namespaces}

# The namespace of a `namespace/pod[/container]` reference.
namespace(ref) := split(ref, "/")[0]

# The references of a list that are outside the system namespaces.
workloads(refs) := [r | some r in refs; not namespace(r) in system_namespaces] if is_array(refs)

# " (N in system namespaces left out)" for a verdict, or "" when there are none.
system_note(refs) := "" if count(workloads(refs)) == count(refs)

system_note(refs) := sprintf(" (%d in system namespaces left out)", [count(refs) - count(workloads(refs))]) if {
	count(workloads(refs)) < count(refs)
}

# The verdicts of a policy that lists workloads (`namespace/pod[/container]`) with a property
# that should not be there: a reason naming those outside the system namespaces, or undefined.
workload_problem(what, refs) := lib.listed(what, workloads(refs))

# The reason a policy passes when no workload outside the system namespaces has the property.
workload_clean(what, refs) := sprintf("no %s outside the system namespaces%s", [what, system_note(refs)]) if {
	workloads(refs) == []
}

# The end of upstream maintenance (no more patches, security ones included) of each minor
# release, as published on kubernetes.io/releases. Minors before the first are long past it.
end_of_life := {
	"1.30": "2025-07-15T00:00:00Z",
	"1.31": "2025-10-28T00:00:00Z",
	"1.32": "2026-02-28T00:00:00Z",
	"1.33": "2026-06-28T00:00:00Z",
	"1.34": "2026-10-27T00:00:00Z",
	"1.35": "2027-02-28T00:00:00Z",
	"1.36": "2027-06-28T00:00:00Z",
	"1.37": "2027-10-28T00:00:00Z",
}

oldest_listed_minor := 30

# [major, minor] of a version such as "v1.33.4", "v1.33.4-eks-4096" or "v1.32.7+k3s1".
version_parts(version) := [to_number(m[1]), to_number(m[2])] if {
	m := regex.find_all_string_submatch_n(`^v?([0-9]+)\.([0-9]+)\.`, version, 1)[0]
}

# The minor release ("1.33") of a version.
minor_release(version) := sprintf("%d.%d", version_parts(version))

# When upstream maintenance of a version's minor release ends (or, for minors older than the
# table, had ended by).
maintenance_end(version) := end_of_life[minor_release(version)]

maintenance_end(version) := end_of_life[sprintf("1.%d", [oldest_listed_minor])] if {
	parts := version_parts(version)
	parts[0] == 1
	parts[1] < oldest_listed_minor
}

# True when the version's minor release was no longer maintained at instant `at`.
unmaintained(version, at) if time.parse_rfc3339_ns(at) >= time.parse_rfc3339_ns(maintenance_end(version))

# True when the version's minor release was still maintained at instant `at`.
maintained(version, at) if time.parse_rfc3339_ns(at) < time.parse_rfc3339_ns(maintenance_end(version))

# Why a version's maintenance status is unknown, or undefined when it is known.
unknown_release(version) := sprintf("%v is not a Kubernetes version this pack can read", [version]) if {
	not version_parts(version)
}

unknown_release(version) := sprintf("Kubernetes %s is newer than this pack's release table (up to %s): update the pack", [
	minor_release(version),
	max({m | some m, _ in end_of_life}),
]) if {
	version_parts(version)
	not maintenance_end(version)
}

# The date part of an end of maintenance, for reasons.
end_date(version) := substring(maintenance_end(version), 0, 10)

# When maintenance ended, for reasons: "on 2026-06-28", or "before 2025-07-15" for minors older
# than the table.
ended_text(version) := sprintf("on %s", [end_date(version)]) if end_of_life[minor_release(version)]

ended_text(version) := sprintf("before %s", [end_date(version)]) if {
	maintenance_end(version)
	not end_of_life[minor_release(version)]
}
