#!/usr/bin/python
# -*- coding: utf-8 -*-

# An Ansible module that runs `phpguard apply --json` on the managed host.
# It holds no logic of its own: phpguard compares, applies and reports;
# this module maps its JSON object (SPEC section 6) onto Ansible's result.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: phpguard
short_description: Converge a shared Apache host to a phpguard policy
description:
  - Runs C(phpguard apply --json) on the managed host and reports its result
    as an Ansible result, so that a play shows C(changed) only when phpguard
    changed something.
  - In check mode it runs C(phpguard apply --check --json), which compares
    the host with the policy and changes nothing. A plain
    M(ansible.builtin.command) task is skipped in check mode; this module is
    not.
  - With C(--diff), phpguard's before and after of each generated file
    (Apache vhosts, the Apache include, the PHP ini) is passed through as the
    task's diff. Mounts, directories and ACL entries are listed in the C(changes) it returns.
  - The policy is a file or directory on the managed host. It is read by
    phpguard, which fails with C(file:line:col) for each problem; that
    message becomes the task's C(msg).
version_added: "0.1.0"
author:
  - phpguard authors
requirements:
  - the C(phpguard) binary on the managed host
  - root on the managed host (use C(become))
options:
  policy:
    description:
      - Path of the policy file or directory on the managed host.
      - When omitted, phpguard reads C($PHPGUARD_POLICY), else
        C(/etc/phpguard/policy.yaml).
    type: path
  root:
    description:
      - Take this directory as the host's C(/) for everything phpguard reads,
        writes or mounts (C(phpguard apply --root)). For trying a policy in a
        sandbox; generated files never contain this path.
      - Under I(root), the policy's C(configtest) and C(reload) commands run
        only with I(run_commands=true).
    type: path
  only:
    description:
      - Apply one part only. C(acl) converges the deny ACLs and nothing else
        (no Apache files, no mounts, no reload).
    type: str
    choices: [acl]
  run_commands:
    description:
      - Under I(root), run the policy's C(configtest) and C(reload) commands
        too (C(phpguard apply --run-commands)), with C(PHPGUARD_ROOT) set to
        I(root) in their environment. Without I(root) they always run.
    type: bool
    default: false
  lock_timeout:
    description:
      - Seconds to wait for another C(phpguard apply) on the same host (a
        boot-time apply, the apt hook) to finish, before failing.
      - When omitted, phpguard's default applies (60 seconds).
    type: int
  binary:
    description:
      - Path of the phpguard binary on the managed host, or a command name
        looked up in C($PATH).
    type: path
    default: /usr/sbin/phpguard
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
notes:
  - phpguard must print exactly one JSON object on stdout. Anything else (an
    old binary without C(--json), a crash) fails the task with phpguard's
    stderr; it is never taken for success.
  - When one account fails, phpguard still converges the others; the task
    then fails with C(changed) set to what phpguard did change.
'''

EXAMPLES = r'''
- name: Converge the host to its policy
  phpguard:
    policy: /etc/phpguard/policy.yaml

- name: Only the deny ACLs (what the apt hook does)
  phpguard:
    only: acl

- name: Try a policy in a sandbox root, without Apache commands
  phpguard:
    policy: /root/new-policy.yaml
    root: /srv/sandbox
    run_commands: false
    lock_timeout: 10
'''

RETURN = r'''
changed:
  description: Whether phpguard changed (or, in check mode, would change) anything.
  returned: always
  type: bool
msg:
  description:
    - phpguard's one-line summary, such as C(3 added, 1 changed, 0 removed),
      or, on failure, why it failed (with C(file:line:col) for a policy error).
  returned: always
  type: str
  sample: 2 to add, 0 to change, 0 to remove
changes:
  description: Each change made or planned, in phpguard's order.
  returned: success and when phpguard reported them on failure
  type: list
  elements: dict
  contains:
    kind:
      description: C(file), C(dir), C(mount) or C(acl).
      type: str
    path:
      description: Path on the host (never containing I(root)).
      type: str
    action:
      description: C(create), C(update) or C(remove).
      type: str
    account:
      description: The account the change belongs to, where one applies.
      type: str
      returned: when the change belongs to an account
diff:
  description:
    - Before and after of each changed file, as Ansible's diff callback
      shows them (C(before_header), C(after_header), C(before), C(after)).
  returned: when Ansible runs with --diff
  type: list
  elements: dict
rc:
  description: phpguard's exit status.
  returned: always
  type: int
stderr:
  description: phpguard's stderr (policy warnings and errors).
  returned: on failure
  type: str
'''

import json
import os

from ansible.module_utils.basic import AnsibleModule


def find_binary(module, binary):
    """Return the phpguard binary to run, or fail the task."""
    if '/' not in binary:
        return module.get_bin_path(binary, required=True)
    if not os.path.isfile(binary) or not os.access(binary, os.X_OK):
        module.fail_json(msg='phpguard binary %s: not an executable file' % binary)
    return binary


def build_command(module, binary):
    """Return the argv of phpguard apply for the module's parameters."""
    p = module.params
    cmd = [binary, 'apply', '--json', '--color=never']
    if module.check_mode:
        cmd.append('--check')
    if module._diff:
        cmd.append('--diff')
    if p['root']:
        cmd.extend(['--root', p['root']])
    if p['only']:
        cmd.append('--only=%s' % p['only'])
    if p['run_commands']:
        cmd.append('--run-commands')
    if p['lock_timeout'] is not None:
        cmd.append('--lock-timeout=%ds' % p['lock_timeout'])
    if p['policy']:
        # After "--": a policy path that starts with "-" is not a flag.
        cmd.extend(['--', p['policy']])
    return cmd


def parse_report(module, rc, stdout, stderr, cmd):
    """Return phpguard's JSON object, or fail the task when there is none.

    phpguard prints one JSON object and nothing else on stdout, also on
    failure (SPEC 6). Anything else means something went wrong before or
    around phpguard's own reporting, and must not pass as "ok".
    """
    try:
        report = json.loads(stdout)
    except ValueError as e:
        module.fail_json(
            msg='phpguard printed no JSON object on stdout (%s), exit status %d: %s'
            % (e, rc, stderr.strip() or '(no stderr)'),
            rc=rc, stdout=stdout, stderr=stderr, cmd=cmd)
    if not isinstance(report, dict) or not isinstance(report.get('changed'), bool) \
            or not isinstance(report.get('failed'), bool):
        module.fail_json(
            msg='phpguard printed JSON without boolean "changed" and "failed", exit status %d: %s'
            % (rc, stderr.strip() or '(no stderr)'),
            rc=rc, stdout=stdout, stderr=stderr, cmd=cmd)
    return report


def main():
    module = AnsibleModule(
        argument_spec=dict(
            policy=dict(type='path'),
            root=dict(type='path'),
            only=dict(type='str', choices=['acl']),
            run_commands=dict(type='bool', default=False),
            lock_timeout=dict(type='int'),
            binary=dict(type='path', default='/usr/sbin/phpguard'),
        ),
        supports_check_mode=True,
    )
    if module.params['lock_timeout'] is not None and module.params['lock_timeout'] < 0:
        module.fail_json(msg='lock_timeout: must not be negative')

    binary = find_binary(module, module.params['binary'])
    cmd = build_command(module, binary)
    rc, stdout, stderr = module.run_command(cmd, check_rc=False)
    report = parse_report(module, rc, stdout, stderr, cmd)

    for w in report.get('warnings') or []:
        module.warn(str(w))

    result = dict(
        changed=report['changed'],
        msg=report.get('msg') or '',
        changes=report.get('changes') or [],
        rc=rc,
    )
    if module._diff and report.get('diff'):
        result['diff'] = report['diff']

    # A failure is phpguard's "failed", or an exit status that says so
    # even if the object does not (never report success on exit 1).
    if report['failed'] or rc != 0:
        if not report['failed']:
            result['msg'] = 'phpguard exited with status %d: %s' % (
                rc, stderr.strip() or result['msg'])
        module.fail_json(stderr=stderr, cmd=cmd, **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
