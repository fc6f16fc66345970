package explain

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// answerWith returns a valid answer as a JSON object with set applied.
func answerWith(set func(m map[string]any)) string {
	var m map[string]any
	json.Unmarshal([]byte(validAnswer()), &m)
	set(m)
	b, _ := json.Marshal(m)
	return string(b)
}

func TestParseAnswer(t *testing.T) {
	t.Run("a valid answer parses", func(t *testing.T) {
		a, err := ParseAnswer(validAnswer())
		if err != nil || a.Category != "dependency" || a.Confidence != 0.7 {
			t.Errorf("got %+v, %v", a, err)
		}
	})

	t.Run("an answer in a code fence parses", func(t *testing.T) {
		if _, err := ParseAnswer("Here it is:\n```json\n" + validAnswer() + "\n```"); err != nil {
			t.Errorf("got %v, want nil", err)
		}
	})

	for _, c := range []struct {
		name, reply, want string
	}{
		{"garbage", "I think the database is down.", "no JSON object"},
		{"broken JSON", `{"summary": "x",`, "no JSON object"},
		{"a missing field", answerWith(func(m map[string]any) { delete(m, "probable_cause") }),
			`"probable_cause" is missing`},
		{"a null field", answerWith(func(m map[string]any) { m["evidence"] = nil }),
			`"evidence" is missing`},
		{"a wrong type", answerWith(func(m map[string]any) { m["confidence"] = "high" }),
			"wrong type"},
		{"an unknown category", answerWith(func(m map[string]any) { m["category"] = "aliens" }),
			`"aliens", not one of`},
		{"a confidence over 1", answerWith(func(m map[string]any) { m["confidence"] = 1.5 }),
			"not in [0,1]"},
		{"a blank summary", answerWith(func(m map[string]any) { m["summary"] = "  " }),
			`"summary" is empty`},
		{"a long cause", answerWith(func(m map[string]any) {
			m["probable_cause"] = strings.Repeat("x", maxCause+1)
		}), "over 500"},
		{"no evidence", answerWith(func(m map[string]any) { m["evidence"] = []string{} }),
			`"evidence" has 0 items`},
		{"too many actions", answerWith(func(m map[string]any) {
			m["suggested_actions"] = strings.Split(strings.Repeat("a,", maxActions), ",")
		}), `"suggested_actions" has 9 items`},
	} {
		t.Run("an answer with "+c.name+" fails", func(t *testing.T) {
			_, err := ParseAnswer(c.reply)
			if !errors.Is(err, ErrInvalidAnswer) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want ErrInvalidAnswer saying %q", err, c.want)
			}
		})
	}
}

func TestAnswerSchemaMatchesTheFields(t *testing.T) {
	s := answerSchema()
	props := s["properties"].(map[string]any)
	if len(props) != len(answerFields) {
		t.Errorf("got %d schema properties, want %d", len(props), len(answerFields))
	}
	for _, f := range answerFields {
		if _, ok := props[f]; !ok {
			t.Errorf("field %s is not in the schema", f)
		}
		if !strings.Contains(systemPrompt, `"`+f+`"`) {
			t.Errorf("field %s is not in the instructions", f)
		}
	}
}
