"""kernel/sys.c: the release uname() reports, which lockdep's splats print."""

import pytest

from anonvma.variants import get_variant
from anonvma.variants.v3_0 import Linux_3_0


class MyPatch(Linux_3_0):
    """A user's patch over 3.0, under a name of its own."""

    name = "my-patch"


@pytest.mark.parametrize("era, release", [
    ("v2.6.36-rc1", "2.6.36-rc1"),      # 2.6 releases have three numbers of their own
    ("v3.0-rc2", "3.0.0-rc2"),          # 3.0 kept SUBLEVEL: Makefile "SUBLEVEL = 0"
    ("v3.0-rc2-clone", "3.0.0-rc2"),    # patches on -rc2 are still -rc2
    ("v6.18", "6.18.0"),
    ("v6.18.7", "6.18.7"),
])
def test_init_utsname_release(era, release):
    cls = get_variant(era)
    assert cls.init_utsname_release(object.__new__(cls)) == release


def test_a_patch_reports_the_release_it_patches():
    assert MyPatch.init_utsname_release(object.__new__(MyPatch)) == "3.0.0"
