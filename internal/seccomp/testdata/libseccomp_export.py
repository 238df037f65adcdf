#!/usr/bin/python3
# export.py IN.json OUT.bpf: compile an OCI linux.seccomp section with
# libseccomp the way runc does.
import json, sys, errno as E
import seccomp as S

spec = json.load(open(sys.argv[1]))

def action(a, e):
    e = 1 if e is None else e
    return {
        "SCMP_ACT_KILL": S.KILL, "SCMP_ACT_KILL_THREAD": S.KILL,
        "SCMP_ACT_KILL_PROCESS": S.KILL_PROCESS, "SCMP_ACT_TRAP": S.TRAP,
        "SCMP_ACT_ALLOW": S.ALLOW, "SCMP_ACT_LOG": S.LOG,
        "SCMP_ACT_ERRNO": S.ERRNO(e), "SCMP_ACT_TRACE": S.TRACE(e),
        "SCMP_ACT_NOTIFY": S.ERRNO(38),
    }[a]

ops = {"SCMP_CMP_EQ": S.EQ, "SCMP_CMP_NE": S.NE, "SCMP_CMP_LT": S.LT, "SCMP_CMP_LE": S.LE,
       "SCMP_CMP_GE": S.GE, "SCMP_CMP_GT": S.GT, "SCMP_CMP_MASKED_EQ": S.MASKED_EQ}
arches = {"SCMP_ARCH_X86": S.Arch.X86, "SCMP_ARCH_X32": S.Arch.X32, "SCMP_ARCH_X86_64": S.Arch.X86_64}

default = action(spec["defaultAction"], spec.get("defaultErrnoRet"))
f = S.SyscallFilter(default)
f.set_attr(S.Attr.ACT_BADARCH, S.KILL_PROCESS)
for a in spec.get("architectures") or []:
    if a in arches and not f.exist_arch(arches[a]):
        f.add_arch(arches[a])
for sc in spec.get("syscalls") or []:
    act = action(sc["action"], sc.get("errnoRet"))
    if act == default:
        continue
    args = sc.get("args") or []
    conds = []
    for a in args:
        if a["op"] == "SCMP_CMP_MASKED_EQ":
            conds.append(S.Arg(a["index"], ops[a["op"]], a["value"], a.get("valueTwo", 0)))
        else:
            conds.append(S.Arg(a["index"], ops[a["op"]], a["value"]))
    idx = [a["index"] for a in args]
    groups = [[c] for c in conds] if len(set(idx)) != len(idx) else [conds]
    for name in sc["names"]:
        try:
            if S.resolve_syscall(S.Arch.NATIVE, name) == -1:
                continue  # unknown: runc skips it
        except Exception:
            continue
        for g in groups:
            try:
                f.add_rule(act, name, *g)
            except Exception as ex:
                print("rule", name, sc["action"], [str(c) for c in g], ex, file=sys.stderr); raise
f.export_bpf(open(sys.argv[2], "wb"))
