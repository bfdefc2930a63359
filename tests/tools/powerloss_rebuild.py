#!/usr/bin/python3
"""Builds the disk a power loss leaves, for tests/t_powerloss.sh.

usage: powerloss_rebuild.py PRE PRE_MAP JOURNAL ROOT_INO OUT

PRE      a copy of the directory tree as it was before the run (durable)
PRE_MAP  "ino relpath" for every entry of the live tree before the run
         (find DIR -printf '%i %P\\n'), so the journal's inodes map to PRE
JOURNAL  tests/tools/powershim.c's journal: data/DEV-INO.SEQ (a file's
         content at its last fsync), dirs/DEV-INO.SEQ (a directory's entries
         at its last fsync: "type ino mode name")
ROOT_INO the live tree's top directory inode (hex)
OUT      where to build the tree (must not exist)

A directory holds the entries of its last fsync, or, never fsynced during
the run, the entries it had before (none if it is new).  A file holds its
content at its last fsync, or, never fsynced, its content before the run
(empty if it is new: the pessimistic case of a rename without fsync).
"""
import os
import shutil
import sys


def latest(sub):
    best = {}
    d = os.path.join(sys.argv[3], sub)
    for name in os.listdir(d):
        key, seq = name.rsplit(".", 1)
        ino = int(key.split("-")[1], 16)
        if ino not in best or int(seq) > best[ino][0]:
            best[ino] = (int(seq), os.path.join(d, name))
    return {ino: path for ino, (seq, path) in best.items()}


def main():
    pre, pre_map, _, root_ino, out = sys.argv[1:6]
    data, dirs = latest("data"), latest("dirs")
    path_of = {}   # pre-run inode -> relpath
    children = {}  # pre-run relpath of a directory -> [(name, ino)]
    with open(pre_map) as f:
        for line in f:
            ino, rel = line.rstrip("\n").split(" ", 1)
            path_of[int(ino)] = rel
            if rel:
                parent = os.path.dirname(rel)
                children.setdefault(parent, []).append((os.path.basename(rel), int(ino)))
    stats = {"files": 0, "dirs": 0, "empty": 0}

    def listing(ino):
        if ino in dirs:
            with open(dirs[ino]) as f:
                for line in f:
                    t, cino, mode, name = line.rstrip("\n").split(" ", 3)
                    yield t, int(cino, 16), int(mode, 8), name
            return
        rel = path_of.get(ino)
        if rel is None:
            return  # created during the run, never fsynced: no entries
        for name, cino in children.get(rel, []):
            st = os.lstat(os.path.join(pre, path_of[cino]))
            t = "d" if os.path.isdir(os.path.join(pre, path_of[cino])) else "f"
            yield t, cino, st.st_mode & 0o7777, name

    def build(ino, where):
        os.mkdir(where)
        stats["dirs"] += 1
        for t, cino, mode, name in listing(ino):
            p = os.path.join(where, name)
            if t == "d":
                build(cino, p)
            elif t == "f":
                if cino in data:
                    shutil.copyfile(data[cino], p)
                elif cino in path_of:
                    shutil.copyfile(os.path.join(pre, path_of[cino]), p)
                else:
                    open(p, "wb").close()
                    stats["empty"] += 1
                stats["files"] += 1
            else:
                continue
            os.chmod(p, mode | 0o200 if t == "d" else mode)
        return

    build(int(root_ino, 16), out)
    print("rebuilt: %(dirs)d directories, %(files)d files (%(empty)d never made durable: empty)"
          % stats)


main()
