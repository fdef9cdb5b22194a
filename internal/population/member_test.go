package population

import (
	"testing"

	"github.com/wholecare/wholecare/internal/apperr"
)

func TestMemberAgreesWithEval(t *testing.T) {
	src := mustSynth(t, 300)
	e := mustBuild(t, src)
	x := mustParse(t, e, "has(hypertension) or age >= 70")
	now := e.builtAt
	b, err := e.Eval(x, now)
	if err != nil {
		t.Fatal(err)
	}
	in, out := 0, 0
	for id, r := range e.rows {
		got, err := e.Member(x, id, now)
		if err != nil {
			t.Fatal(err)
		}
		if want := b.Has(int(r)); got != want {
			t.Fatalf("person %d: Member = %v, Eval says %v", id, got, want)
		}
		if got {
			in++
		} else {
			out++
		}
	}
	if in == 0 || out == 0 {
		t.Fatalf("cohort splits %d in, %d out: the test needs both", in, out)
	}
	if _, err := e.Member(x, -5, now); !apperr.Is(err, apperr.NotFound) {
		t.Fatalf("unknown person: %v", err)
	}
	for id := range e.rows {
		e.Remove(id)
		if _, err := e.Member(x, id, now); !apperr.Is(err, apperr.NotFound) {
			t.Fatalf("removed person: %v", err)
		}
		break
	}
}

func BenchmarkMember(b *testing.B) {
	src := mustSynth(b, 20000)
	e := mustBuild(b, src)
	x := mustParse(b, e, "has(diabetes) and not (has(frailty_moderate) or has(frailty_severe)) and latest(hba1c, 12m) <= 58 and alive")
	ids := make([]int64, 0, len(e.rows))
	for id := range e.rows {
		ids = append(ids, id)
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := e.Member(x, ids[i%len(ids)], e.builtAt); err != nil {
			b.Fatal(err)
		}
	}
}

func TestMembers(t *testing.T) {
	e := mustBuild(t, mustSynth(t, 300))
	x := mustParse(t, e, "has(hypertension) or age >= 70")
	b, _ := e.Eval(x, e.builtAt)
	all, total, err := e.Members(x, e.builtAt, 1000)
	if err != nil || total != b.Count() || len(all) != total || total == 0 {
		t.Fatalf("Members = %d of %d, %v; Eval counts %d", len(all), total, err, b.Count())
	}
	for i, id := range all {
		if i > 0 && all[i-1] >= id {
			t.Fatal("members not in id order")
		}
		if !b.Has(int(e.rows[id])) {
			t.Fatalf("person %d is not in the cohort", id)
		}
	}
	some, total2, _ := e.Members(x, e.builtAt, 5)
	if len(some) != 5 || total2 != total || some[4] != all[4] {
		t.Fatalf("first five = %v of %d", some, total2)
	}
}
