package selfexec

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

func TestSealedCopy(t *testing.T) {
	f, err := SealedCopy("test", true)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	seals, err := unix.FcntlInt(f.Fd(), unix.F_GET_SEALS, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if seals&want != want {
		t.Errorf("seals %#x, want %#x", seals, want)
	}
	if _, err := f.Write([]byte("x")); err == nil {
		t.Error("wrote into the sealed copy")
	}
	self, _ := os.Stat("/proc/self/exe")
	fi, _ := f.Stat()
	if fi.Size() != self.Size() {
		t.Errorf("copy has %d bytes, the binary %d", fi.Size(), self.Size())
	}
}

func TestNsenterArgsSelf(t *testing.T) {
	args, err := NsenterArgs(os.Getpid())
	if err != nil || len(args) != 0 {
		t.Errorf("NsenterArgs(self) = %v, %v; want none", args, err)
	}
}
