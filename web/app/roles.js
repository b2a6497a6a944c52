// Code generated from shared/plan by web/roles_test.go; DO NOT EDIT.
// Regenerate with: go test ./web -run TestRolesMirror -update

export const ROLES = {
  "school": {
    "events": {
      "admin": {
        "read": true,
        "write": "all",
        "delete": "any"
      },
      "family": {
        "read": true,
        "write": "none",
        "delete": "none"
      },
      "interpreter": {
        "read": true,
        "write": "none",
        "delete": "none"
      },
      "support": {
        "read": true,
        "write": "none",
        "delete": "none"
      },
      "teacher": {
        "read": true,
        "write": "all",
        "delete": "own"
      }
    },
    "services": {
      "admin": {
        "read": true,
        "write": "all",
        "delete": "any"
      },
      "family": {
        "read": true,
        "write": "none",
        "delete": "none"
      },
      "interpreter": {
        "read": true,
        "write": "none",
        "delete": "none"
      },
      "support": {
        "read": true,
        "write": "none",
        "delete": "none"
      },
      "teacher": {
        "read": true,
        "write": "none",
        "delete": "none"
      }
    }
  },
  "student": {
    "about": {
      "admin": {
        "read": true,
        "write": "all",
        "delete": "any"
      },
      "family": {
        "read": true,
        "write": "all",
        "delete": "own"
      },
      "interpreter": {
        "read": true,
        "write": "none",
        "delete": "none"
      },
      "support": {
        "read": false,
        "write": "none",
        "delete": "none"
      },
      "teacher": {
        "read": true,
        "write": "own",
        "delete": "own"
      }
    },
    "actions": {
      "admin": {
        "read": true,
        "write": "all",
        "delete": "any"
      },
      "family": {
        "read": true,
        "write": "home",
        "delete": "own"
      },
      "interpreter": {
        "read": true,
        "write": "none",
        "delete": "none"
      },
      "support": {
        "read": true,
        "write": "none",
        "delete": "none"
      },
      "teacher": {
        "read": true,
        "write": "all",
        "delete": "any"
      }
    },
    "checkins": {
      "admin": {
        "read": true,
        "write": "all",
        "delete": "any"
      },
      "family": {
        "read": true,
        "write": "home",
        "delete": "own"
      },
      "interpreter": {
        "read": true,
        "write": "none",
        "delete": "none"
      },
      "support": {
        "read": true,
        "write": "all",
        "delete": "own"
      },
      "teacher": {
        "read": true,
        "write": "all",
        "delete": "any"
      }
    },
    "family": {
      "admin": {
        "read": true,
        "write": "all",
        "delete": "any"
      },
      "family": {
        "read": true,
        "write": "all",
        "delete": "own"
      },
      "interpreter": {
        "read": true,
        "write": "none",
        "delete": "none"
      },
      "support": {
        "read": true,
        "write": "none",
        "delete": "none"
      },
      "teacher": {
        "read": true,
        "write": "all",
        "delete": "own"
      }
    },
    "goals": {
      "admin": {
        "read": true,
        "write": "all",
        "delete": "any"
      },
      "family": {
        "read": true,
        "write": "none",
        "delete": "none"
      },
      "interpreter": {
        "read": true,
        "write": "none",
        "delete": "none"
      },
      "support": {
        "read": true,
        "write": "none",
        "delete": "none"
      },
      "teacher": {
        "read": true,
        "write": "all",
        "delete": "any"
      }
    },
    "meeting_answers": {
      "admin": {
        "read": true,
        "write": "own",
        "delete": "any"
      },
      "family": {
        "read": true,
        "write": "own",
        "delete": "own"
      },
      "interpreter": {
        "read": true,
        "write": "none",
        "delete": "none"
      },
      "support": {
        "read": true,
        "write": "own",
        "delete": "own"
      },
      "teacher": {
        "read": true,
        "write": "own",
        "delete": "own"
      }
    },
    "meetings": {
      "admin": {
        "read": true,
        "write": "all",
        "delete": "any"
      },
      "family": {
        "read": true,
        "write": "all",
        "delete": "own"
      },
      "interpreter": {
        "read": true,
        "write": "none",
        "delete": "none"
      },
      "support": {
        "read": true,
        "write": "all",
        "delete": "own"
      },
      "teacher": {
        "read": true,
        "write": "all",
        "delete": "any"
      }
    },
    "notes": {
      "admin": {
        "read": true,
        "write": "own",
        "delete": "any"
      },
      "family": {
        "read": true,
        "write": "own",
        "delete": "own"
      },
      "interpreter": {
        "read": true,
        "write": "none",
        "delete": "none"
      },
      "support": {
        "read": true,
        "write": "own",
        "delete": "own"
      },
      "teacher": {
        "read": true,
        "write": "own",
        "delete": "own"
      }
    },
    "suggestions": {
      "admin": {
        "read": true,
        "write": "own",
        "delete": "any",
        "decide": true
      },
      "family": {
        "read": true,
        "write": "own",
        "delete": "own"
      },
      "interpreter": {
        "read": true,
        "write": "none",
        "delete": "none"
      },
      "support": {
        "read": true,
        "write": "own",
        "delete": "own"
      },
      "teacher": {
        "read": true,
        "write": "own",
        "delete": "own",
        "decide": true
      }
    },
    "translation_flags": {
      "admin": {
        "read": true,
        "write": "own",
        "delete": "any"
      },
      "family": {
        "read": true,
        "write": "own",
        "delete": "own"
      },
      "interpreter": {
        "read": true,
        "write": "own",
        "delete": "own"
      },
      "support": {
        "read": true,
        "write": "own",
        "delete": "own"
      },
      "teacher": {
        "read": true,
        "write": "own",
        "delete": "own"
      }
    },
    "translations": {
      "admin": {
        "read": true,
        "write": "none",
        "delete": "any"
      },
      "family": {
        "read": true,
        "write": "none",
        "delete": "none"
      },
      "interpreter": {
        "read": true,
        "write": "all",
        "delete": "none"
      },
      "support": {
        "read": true,
        "write": "none",
        "delete": "none"
      },
      "teacher": {
        "read": true,
        "write": "none",
        "delete": "none"
      }
    }
  }
};

export const DECISIONS = {
  "student": {
    "suggestions": [
      "status",
      "decline_reason",
      "decision_lang",
      "accepted_goal_id",
      "decided_by_name",
      "decided_at"
    ]
  }
}
export const FIELD_WRITERS = {
  "student": {
    "notes": {
      "urgent": [
        "teacher",
        "support",
        "admin"
      ]
    }
  }
};
