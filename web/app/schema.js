// Code generated from shared/plan by web/schema_test.go; DO NOT EDIT.
// Regenerate with: go test ./web -run TestSchemaMirror -update

export const SCHEMA = {
  "school": [
    {
      "name": "services",
      "fields": [
        {
          "name": "name",
          "type": "string",
          "maxLen": 200,
          "required": true
        },
        {
          "name": "kind",
          "type": "enum",
          "maxLen": 17,
          "enum": [
            "counselor",
            "social_worker",
            "psychologist",
            "nurse",
            "support_group",
            "community_partner",
            "tutoring",
            "other"
          ]
        },
        {
          "name": "offers",
          "type": "string",
          "maxLen": 4000,
          "text": true,
          "langField": "lang"
        },
        {
          "name": "contact",
          "type": "string",
          "maxLen": 500
        },
        {
          "name": "languages",
          "type": "list",
          "maxItems": 20,
          "unique": true,
          "elem": {
            "type": "lang",
            "maxLen": 35
          }
        },
        {
          "name": "cost",
          "type": "enum",
          "maxLen": 13,
          "enum": [
            "free",
            "sliding_scale",
            "paid",
            "unknown"
          ]
        },
        {
          "name": "lang",
          "type": "lang",
          "maxLen": 35
        }
      ]
    },
    {
      "name": "events",
      "fields": [
        {
          "name": "title",
          "type": "string",
          "maxLen": 200,
          "required": true,
          "text": true,
          "langField": "lang"
        },
        {
          "name": "kind",
          "type": "enum",
          "maxLen": 14,
          "enum": [
            "workshop",
            "family_meeting",
            "open_house",
            "support_group",
            "other"
          ]
        },
        {
          "name": "starts_at",
          "type": "timestamp",
          "maxLen": 40
        },
        {
          "name": "ends_at",
          "type": "timestamp",
          "maxLen": 40
        },
        {
          "name": "place",
          "type": "string",
          "maxLen": 500
        },
        {
          "name": "description",
          "type": "string",
          "maxLen": 4000,
          "text": true,
          "langField": "lang"
        },
        {
          "name": "languages",
          "type": "list",
          "maxItems": 20,
          "unique": true,
          "elem": {
            "type": "lang",
            "maxLen": 35
          }
        },
        {
          "name": "lang",
          "type": "lang",
          "maxLen": 35
        }
      ]
    }
  ],
  "student": [
    {
      "name": "about",
      "fields": [
        {
          "name": "kind",
          "type": "enum",
          "maxLen": 18,
          "enum": [
            "strengths",
            "interests",
            "works_at_home",
            "hopes",
            "school_should_know"
          ],
          "required": true
        },
        {
          "name": "text",
          "type": "string",
          "maxLen": 4000,
          "required": true,
          "text": true,
          "langField": "lang"
        },
        {
          "name": "lang",
          "type": "lang",
          "maxLen": 35,
          "required": true
        }
      ]
    },
    {
      "name": "goals",
      "fields": [
        {
          "name": "area",
          "type": "enum",
          "maxLen": 16,
          "enum": [
            "reading",
            "writing",
            "math",
            "communication",
            "social_emotional",
            "behavior",
            "motor",
            "independence",
            "attendance",
            "other"
          ]
        },
        {
          "name": "description",
          "type": "string",
          "maxLen": 4000,
          "text": true,
          "langField": "description_lang"
        },
        {
          "name": "description_lang",
          "type": "lang",
          "maxLen": 35
        },
        {
          "name": "target",
          "type": "string",
          "maxLen": 1000,
          "text": true,
          "langField": "description_lang"
        },
        {
          "name": "status",
          "type": "enum",
          "maxLen": 12,
          "enum": [
            "not_started",
            "in_progress",
            "met",
            "paused",
            "discontinued"
          ]
        },
        {
          "name": "start_date",
          "type": "date",
          "maxLen": 10
        },
        {
          "name": "target_date",
          "type": "date",
          "maxLen": 10
        },
        {
          "name": "measure_name",
          "type": "string",
          "maxLen": 200,
          "text": true,
          "langField": "description_lang"
        },
        {
          "name": "measure_unit",
          "type": "string",
          "maxLen": 50,
          "text": true,
          "langField": "description_lang"
        },
        {
          "name": "measure_baseline",
          "type": "number",
          "min": -1000000000,
          "max": 1000000000
        },
        {
          "name": "measure_target",
          "type": "number",
          "min": -1000000000,
          "max": 1000000000
        },
        {
          "name": "measure_target_date",
          "type": "date",
          "maxLen": 10
        }
      ]
    },
    {
      "name": "actions",
      "fields": [
        {
          "name": "goal_id",
          "type": "id",
          "maxLen": 36,
          "required": true
        },
        {
          "name": "where",
          "type": "enum",
          "maxLen": 6,
          "enum": [
            "school",
            "home"
          ]
        },
        {
          "name": "who",
          "type": "string",
          "maxLen": 200,
          "text": true,
          "langField": "lang"
        },
        {
          "name": "what",
          "type": "string",
          "maxLen": 2000,
          "text": true,
          "langField": "lang"
        },
        {
          "name": "how_often",
          "type": "string",
          "maxLen": 200,
          "text": true,
          "langField": "lang"
        },
        {
          "name": "lang",
          "type": "lang",
          "maxLen": 35
        },
        {
          "name": "meeting_id",
          "type": "id",
          "maxLen": 36
        },
        {
          "name": "owner_id",
          "type": "id",
          "maxLen": 36
        }
      ]
    },
    {
      "name": "checkins",
      "fields": [
        {
          "name": "goal_id",
          "type": "id",
          "maxLen": 36,
          "required": true
        },
        {
          "name": "date",
          "type": "date",
          "maxLen": 10
        },
        {
          "name": "where",
          "type": "enum",
          "maxLen": 6,
          "enum": [
            "school",
            "home"
          ]
        },
        {
          "name": "what_happened",
          "type": "string",
          "maxLen": 4000,
          "text": true,
          "langField": "lang"
        },
        {
          "name": "progress",
          "type": "enum",
          "maxLen": 13,
          "enum": [
            "no_progress",
            "some_progress",
            "on_track",
            "met"
          ]
        },
        {
          "name": "by",
          "type": "string",
          "maxLen": 200
        },
        {
          "name": "lang",
          "type": "lang",
          "maxLen": 35
        },
        {
          "name": "value",
          "type": "number",
          "min": -1000000000,
          "max": 1000000000
        }
      ]
    },
    {
      "name": "notes",
      "fields": [
        {
          "name": "author_name",
          "type": "string",
          "maxLen": 200
        },
        {
          "name": "lang",
          "type": "lang",
          "maxLen": 35,
          "required": true
        },
        {
          "name": "kind",
          "type": "enum",
          "maxLen": 8,
          "enum": [
            "praise",
            "question",
            "concern",
            "update"
          ],
          "required": true
        },
        {
          "name": "text",
          "type": "string",
          "maxLen": 8000,
          "required": true,
          "text": true,
          "langField": "lang"
        },
        {
          "name": "reply_to",
          "type": "id",
          "maxLen": 36
        },
        {
          "name": "goal_id",
          "type": "id",
          "maxLen": 36
        },
        {
          "name": "urgent",
          "type": "bool"
        }
      ]
    },
    {
      "name": "meetings",
      "fields": [
        {
          "name": "title",
          "type": "string",
          "maxLen": 200,
          "text": true,
          "langField": "lang"
        },
        {
          "name": "proposed_times",
          "type": "list",
          "maxItems": 10,
          "elem": {
            "type": "object",
            "fields": [
              {
                "name": "start",
                "type": "timestamp",
                "maxLen": 40,
                "required": true
              },
              {
                "name": "place",
                "type": "enum",
                "maxLen": 10,
                "enum": [
                  "school",
                  "home_visit",
                  "phone_call",
                  "video_call",
                  "community",
                  "other"
                ]
              },
              {
                "name": "place_detail",
                "type": "string",
                "maxLen": 200,
                "text": true,
                "langField": "lang"
              }
            ]
          }
        },
        {
          "name": "duration_minutes",
          "type": "int",
          "min": 5,
          "max": 480
        },
        {
          "name": "agenda",
          "type": "string",
          "maxLen": 4000,
          "text": true,
          "langField": "lang"
        },
        {
          "name": "attendees",
          "type": "list",
          "maxItems": 30,
          "elem": {
            "type": "string",
            "maxLen": 200
          }
        },
        {
          "name": "interpreter_needed",
          "type": "bool"
        },
        {
          "name": "interpreter_language",
          "type": "lang",
          "maxLen": 35
        },
        {
          "name": "notes",
          "type": "string",
          "maxLen": 8000,
          "text": true,
          "langField": "lang"
        },
        {
          "name": "agreed_actions",
          "type": "string",
          "maxLen": 4000,
          "text": true,
          "langField": "lang"
        },
        {
          "name": "status",
          "type": "enum",
          "maxLen": 9,
          "enum": [
            "proposed",
            "scheduled",
            "held",
            "cancelled"
          ]
        },
        {
          "name": "lang",
          "type": "lang",
          "maxLen": 35
        },
        {
          "name": "chosen_start",
          "type": "timestamp",
          "maxLen": 40
        },
        {
          "name": "chosen_by_name",
          "type": "string",
          "maxLen": 200
        },
        {
          "name": "chosen_at",
          "type": "timestamp",
          "maxLen": 40
        }
      ]
    },
    {
      "name": "family",
      "fields": [
        {
          "name": "preferred_language",
          "type": "lang",
          "maxLen": 35
        },
        {
          "name": "contact_methods",
          "type": "list",
          "maxItems": 6,
          "unique": true,
          "elem": {
            "type": "enum",
            "maxLen": 12,
            "enum": [
              "phone_call",
              "text_message",
              "email",
              "app_message",
              "in_person",
              "home_visit"
            ]
          }
        },
        {
          "name": "best_times",
          "type": "string",
          "maxLen": 500,
          "text": true,
          "langField": "lang"
        },
        {
          "name": "barriers",
          "type": "list",
          "maxItems": 8,
          "unique": true,
          "elem": {
            "type": "enum",
            "maxLen": 12,
            "enum": [
              "transport",
              "work_hours",
              "childcare",
              "data_limits",
              "phone_limits",
              "language",
              "disability",
              "other"
            ]
          }
        },
        {
          "name": "barriers_detail",
          "type": "string",
          "maxLen": 2000,
          "text": true,
          "langField": "lang"
        },
        {
          "name": "lang",
          "type": "lang",
          "maxLen": 35
        }
      ]
    },
    {
      "name": "translations",
      "fields": [
        {
          "name": "of_collection",
          "type": "string",
          "maxLen": 64,
          "required": true
        },
        {
          "name": "of_id",
          "type": "id",
          "maxLen": 36,
          "required": true
        },
        {
          "name": "of_field",
          "type": "string",
          "maxLen": 64,
          "required": true
        },
        {
          "name": "source_hash",
          "type": "string",
          "maxLen": 64,
          "required": true
        },
        {
          "name": "source_lang",
          "type": "lang",
          "maxLen": 35
        },
        {
          "name": "lang",
          "type": "lang",
          "maxLen": 35,
          "required": true
        },
        {
          "name": "text",
          "type": "string",
          "maxLen": 12000,
          "required": true,
          "text": true,
          "langField": "lang"
        },
        {
          "name": "by",
          "type": "enum",
          "maxLen": 7,
          "enum": [
            "machine",
            "human"
          ],
          "required": true
        },
        {
          "name": "engine",
          "type": "string",
          "maxLen": 100
        }
      ]
    },
    {
      "name": "translation_flags",
      "fields": [
        {
          "name": "translation_id",
          "type": "id",
          "maxLen": 36,
          "required": true
        },
        {
          "name": "note",
          "type": "string",
          "maxLen": 1000,
          "text": true,
          "langField": "lang"
        },
        {
          "name": "lang",
          "type": "lang",
          "maxLen": 35
        }
      ]
    },
    {
      "name": "meeting_answers",
      "fields": [
        {
          "name": "meeting_id",
          "type": "id",
          "maxLen": 36,
          "required": true
        },
        {
          "name": "answers",
          "type": "list",
          "maxItems": 9,
          "elem": {
            "type": "object",
            "fields": [
              {
                "name": "start",
                "type": "timestamp",
                "maxLen": 40,
                "required": true
              },
              {
                "name": "answer",
                "type": "enum",
                "maxLen": 13,
                "enum": [
                  "works",
                  "does_not_work",
                  "suggest_other"
                ],
                "required": true
              },
              {
                "name": "suggested_start",
                "type": "timestamp",
                "maxLen": 40
              }
            ]
          }
        },
        {
          "name": "author_name",
          "type": "string",
          "maxLen": 200
        },
        {
          "name": "comment",
          "type": "string",
          "maxLen": 1000,
          "text": true,
          "langField": "lang"
        },
        {
          "name": "lang",
          "type": "lang",
          "maxLen": 35
        }
      ]
    },
    {
      "name": "suggestions",
      "fields": [
        {
          "name": "kind",
          "type": "enum",
          "maxLen": 11,
          "enum": [
            "new_goal",
            "change_goal"
          ],
          "required": true
        },
        {
          "name": "goal_id",
          "type": "id",
          "maxLen": 36
        },
        {
          "name": "field",
          "type": "enum",
          "maxLen": 11,
          "enum": [
            "description",
            "target"
          ]
        },
        {
          "name": "area",
          "type": "enum",
          "maxLen": 16,
          "enum": [
            "reading",
            "writing",
            "math",
            "communication",
            "social_emotional",
            "behavior",
            "motor",
            "independence",
            "attendance",
            "other"
          ]
        },
        {
          "name": "text",
          "type": "string",
          "maxLen": 4000,
          "required": true,
          "text": true,
          "langField": "lang"
        },
        {
          "name": "reason",
          "type": "string",
          "maxLen": 2000,
          "text": true,
          "langField": "lang"
        },
        {
          "name": "current_text",
          "type": "string",
          "maxLen": 4000,
          "text": true,
          "langField": "lang"
        },
        {
          "name": "lang",
          "type": "lang",
          "maxLen": 35,
          "required": true
        },
        {
          "name": "author_name",
          "type": "string",
          "maxLen": 200
        },
        {
          "name": "status",
          "type": "enum",
          "maxLen": 8,
          "enum": [
            "open",
            "accepted",
            "declined"
          ]
        },
        {
          "name": "decline_reason",
          "type": "string",
          "maxLen": 2000,
          "text": true,
          "langField": "decision_lang"
        },
        {
          "name": "decision_lang",
          "type": "lang",
          "maxLen": 35
        },
        {
          "name": "accepted_goal_id",
          "type": "id",
          "maxLen": 36
        },
        {
          "name": "decided_by_name",
          "type": "string",
          "maxLen": 200
        },
        {
          "name": "decided_at",
          "type": "timestamp",
          "maxLen": 40
        }
      ]
    }
  ]
};

export const MAX_LANG_TAG_LEN = 35;
