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
    }
  }
};

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
