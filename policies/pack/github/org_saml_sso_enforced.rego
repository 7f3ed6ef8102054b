# METADATA
# title: Members reach the organisation through the company's identity provider (SAML SSO)
# description: >-
#   The GitHub organisation has a SAML identity provider, and every member has a SAML identity
#   linked to their account, which is what GitHub's "Require SAML SSO authentication" brings
#   about: access to the organisation then follows the person's account in the identity
#   provider, so that someone removed there loses it here. GitHub's API shows whether SAML is
#   configured and who has an identity linked, not the enforcement switch itself; a member
#   without a linked identity shows that it is not enforced, or not yet for everyone. SAML
#   configured on an enterprise account rather than the organisation is not seen: record an
#   exception naming the enterprise.
# custom:
#   id: github.org.saml_sso_enforced
#   severity: medium
#   controls:
#     - control: iso27001-2022:A.8.5  # Secure authentication
#       relation: exact
#       why: Members authenticate to the organisation through the company's identity provider, with its second factor and sign-in policies, not with a GitHub password alone.
#     - control: iso27001-2022:A.5.16  # Identity management
#       relation: supporting
#       why: Each member's access is tied to an identity the organisation manages in its identity provider, whose life cycle then governs GitHub access too.
#   asset_kinds: [github-org]
#   evidence:
#     - github.org.saml_sso_configured
#     - github.org.members_without_saml_identity
#   remediation: >-
#     In the organisation's Settings > Authentication security, enable SAML single sign-on with
#     the company's identity provider, have every member link their identity, then tick
#     "Require SAML SSO authentication for all members".
#   freshness: 24h
package vouch.policies.github.org.saml_sso_enforced

configured := input.evidence["github.org.saml_sso_configured"]

without := input.evidence["github.org.members_without_saml_identity"]

deny contains "no SAML identity provider is configured for the organisation" if configured == false

deny contains sprintf("%d member(s) have no SAML identity linked: SAML SSO is not enforced for everyone", [without]) if {
	configured == true
	without > 0
}

allow := "SAML SSO is configured and every member has a SAML identity linked" if {
	configured == true
	without == 0
}
